import Glibc

/// Chooses between KVM and TCG by booting a kernel briefly.
public enum AccelerationProbe {
    /// Returns `.kvm` when QEMU with `-accel kvm` produces serial output from `kernelPath` within `timeout`, else `.tcg`.
    ///
    /// `/dev/kvm` can exist while nested KVM cannot run a guest, and QEMU then prints nothing and hangs, so the
    /// device file alone proves nothing. A bzImage prints `Probing EDD` on the serial console from its real-mode setup
    /// code, long before the kernel proper starts, so any output means that KVM executes guest code. The probe process
    /// is killed with `SIGKILL` and reaped before this returns. A missing executable or kernel, or a QEMU that exits
    /// early (for example without permission on `/dev/kvm`), yields `.tcg`.
    ///
    /// - Parameters:
    ///   - qemuExecutable: The QEMU executable, a path or a name looked up in `PATH`.
    ///   - kernelPath: A bzImage kernel.
    ///   - timeout: How long to wait for the first byte of serial output. One second is plenty for a working KVM.
    public static func probe(qemuExecutable: String, kernelPath: String, timeout: Duration) -> Acceleration {
        let booted = printsSerialOutput(
            qemuExecutable: qemuExecutable, kernelPath: kernelPath, acceleration: .kvm, timeout: timeout)
        return booted ? .kvm : .tcg
    }

    /// Returns whether QEMU with `acceleration` writes at least one byte of serial output within `timeout`.
    /// The QEMU process is killed and reaped before this returns.
    static func printsSerialOutput(
        qemuExecutable: String,
        kernelPath: String,
        acceleration: Acceleration,
        timeout: Duration
    ) -> Bool {
        var pipeDescriptors: [Int32] = [-1, -1]
        // pipe2 is not imported because glibc declares it only under _GNU_SOURCE. ProcessSpawner closes every
        // unlisted descriptor in its children, so the moment before FD_CLOEXEC is set leaks nothing to them.
        guard pipe(&pipeDescriptors) == 0 else { return false }
        for descriptor in pipeDescriptors {
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        let readEnd = pipeDescriptors[0]
        let writeEnd = pipeDescriptors[1]
        defer { close(readEnd) }

        let arguments = [
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", "pc", "-accel", acceleration.rawValue, "-m", "128M",
            "-kernel", kernelPath, "-append", "console=ttyS0",
            "-chardev", "stdio,id=\(QEMUCommandLine.serialChardevID),signal=off",
            "-serial", "chardev:\(QEMUCommandLine.serialChardevID)",
        ]
        let request = SpawnRequest(
            executable: qemuExecutable,
            arguments: arguments,
            descriptors: [1: writeEnd],
            newSession: true
        )
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(request)
        } catch {
            close(writeEnd)
            return false
        }
        // The parent's copy of the write end must be closed, or reading the read end never returns end of file when QEMU exits.
        close(writeEnd)
        defer {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }

        let deadline = Deadline(after: timeout)
        while true {
            var request = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, deadline.remainingMilliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return false }
            var byte: UInt8 = 0
            let count = read(readEnd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            return count > 0
        }
    }
}
