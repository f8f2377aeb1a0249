import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds out whether this QEMU build accepts the seccomp sandbox, which Debian builds with but others may not.
public enum SandboxProbe {
    /// Launches QEMU with `-sandbox` and an empty machine, and returns true when it starts and waits for QMP
    /// commands instead of exiting with an error within `timeout`.
    public static func probe(qemuExecutable: String, timeout: Duration) -> Bool {
        let nullDevice = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard nullDevice >= 0 else { return false }
        defer { close(nullDevice) }
        let request = SpawnRequest(
            executable: qemuExecutable,
            arguments: [
                "-sandbox", QEMUCommandLine.sandboxOptions, "-machine", "none", "-display", "none", "-nodefaults",
                "-S", "-monitor", "none",
            ],
            descriptors: [0: nullDevice, 1: nullDevice, 2: nullDevice])
        guard let pid = try? ProcessSpawner.spawn(request) else { return false }
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                return false
            }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return true
    }
}
