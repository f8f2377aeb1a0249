import Foundation
import Glibc
import Hypervisor

/// One QEMU process started by a test, killed by pid and reaped when released.
final class TestGuest {
    let pid: pid_t
    let console: SerialConsole
    let qmpSocketPath: String
    let logPath: String
    private var exitStatus: Int32?

    /// Launches QEMU for `config` with its serial console on a pipe, QMP at `<directory>/<name>.qmp` and stderr in
    /// `<directory>/<name>.log`. With `incomingImage`, QEMU loads that image through descriptor 3 and stays paused.
    init(config: MachineConfig, directory: TemporaryDirectory, name: String, incomingImage: String? = nil) throws {
        qmpSocketPath = directory.file("\(name).qmp")
        logPath = directory.file("\(name).log")

        var pipeDescriptors: [Int32] = [-1, -1]
        guard pipe(&pipeDescriptors) == 0 else { throw TestFailure("pipe failed: \(String(cString: strerror(errno)))") }
        let logDescriptor = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard logDescriptor >= 0 else { throw TestFailure("Cannot create \(logPath)") }
        var descriptors: [Int32: Int32] = [1: pipeDescriptors[1], 2: logDescriptor]
        var imageDescriptor: Int32 = -1
        if let incomingImage {
            imageDescriptor = open(incomingImage, O_RDONLY | O_CLOEXEC)
            guard imageDescriptor >= 0 else { throw TestFailure("Cannot open \(incomingImage)") }
            descriptors[3] = imageDescriptor
        }
        defer {
            close(pipeDescriptors[1])
            close(logDescriptor)
            if imageDescriptor >= 0 { close(imageDescriptor) }
        }

        let arguments = QEMUCommandLine.arguments(
            for: config,
            qmpSocketPath: qmpSocketPath,
            incomingFileDescriptor: incomingImage == nil ? nil : 3
        )
        let request = SpawnRequest(
            executable: QEMUCommandLine.defaultExecutable,
            arguments: arguments,
            descriptors: descriptors,
            newSession: true
        )
        do {
            pid = try ProcessSpawner.spawn(request)
        } catch {
            close(pipeDescriptors[0])
            throw error
        }
        console = SerialConsole(readDescriptor: pipeDescriptors[0])
    }

    deinit {
        kill()
    }

    /// The QEMU log (stderr), for failure messages.
    var log: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Waits for QEMU to exit on its own and returns its wait status, or nil when it still runs after `timeout`.
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while exitStatus == nil {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                exitStatus = status
            } else if ContinuousClock.now >= deadline {
                return nil
            } else {
                usleep(20_000)
            }
        }
        return exitStatus
    }

    /// Kills QEMU with SIGKILL unless it was already reaped, and reaps it.
    func kill() {
        guard exitStatus == nil else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        exitStatus = status
    }
}

/// A machine configuration for tests: TCG, one CPU, the test kernel and a fresh test initramfs in `directory`.
func testMachineConfig(in directory: TemporaryDirectory, memoryMiB: Int = 128, extraCommandLine: String = "") throws
    -> MachineConfig
{
    let initramfsPath = directory.file("initramfs.cpio")
    try TestInitramfs.write(to: initramfsPath)
    return MachineConfig(
        memoryMiB: memoryMiB,
        vcpus: 1,
        kernelPath: try testKernelPath(),
        initramfsPath: initramfsPath,
        kernelCommandLine: "console=ttyS0 quiet panic=-1 \(extraCommandLine)",
        acceleration: .tcg
    )
}

/// Decodes a wait status: the exit code for a normal exit, nil when a signal ended the process.
func exitCode(ofWaitStatus status: Int32) -> Int32? {
    (status & 0x7f) == 0 ? (status >> 8) & 0xff : nil
}
