import Foundation
import GuestImage

#if canImport(Glibc)
    import Glibc
#endif

/// A QEMU process that boots a guest image under TCG with the serial console on its standard output.
///
/// A reader thread collects console lines (without `\r`) with the time since launch, and records QEMU's
/// exit status after standard output closes. `@unchecked Sendable` is safe because `lines` and
/// `exitStatus` are only touched while `lock` is held, and `process` is only used for its pid after launch.
final class QEMUGuest: @unchecked Sendable {
    static let executable = "/usr/bin/qemu-system-x86_64"

    let qmpSocketPath: String
    let launchedAt = Date()
    private let process = Process()
    private let lock = NSLock()
    private var collectedLines: [(seconds: Double, text: String)] = []
    private var exitStatus: Int32?

    init(image: GuestImage, command: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw TestFailure("\(Self.executable) is missing; install Debian's qemu-system-x86 package")
        }
        // Unix socket paths are limited to 107 bytes, so the socket lives directly in /tmp.
        qmpSocketPath = "/tmp/stint-gi-\(UUID().uuidString.prefix(8)).qmp"
        let commandLine = try GuestCommandLine.kernelCommandLine(command: command)

        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [
            "-accel", "tcg", "-m", "256", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-machine", "pc", "-kernel", image.kernelPath, "-initrd", image.initramfsPath, "-append", commandLine,
            "-serial", "stdio", "-qmp", "unix:\(qmpSocketPath),server=on,wait=off",
        ]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()

        let reader = Thread { [self] in readConsole(output.fileHandleForReading) }
        reader.name = "qemu-console-reader"
        reader.start()
    }

    deinit {
        kill()
        unlink(qmpSocketPath)
    }

    var lines: [String] {
        lock.withLock { collectedLines.map(\.text) }
    }

    /// Returns the seconds from launch until the first line that satisfies `predicate`, waiting up to `timeout`.
    func waitForLine(timeout: TimeInterval, where predicate: (String) -> Bool) -> Double? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found = lock.withLock { collectedLines.first { predicate($0.text) } }
            if let found {
                return found.seconds
            }
            if lock.withLock({ exitStatus }) != nil {
                return nil
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Returns QEMU's exit status, or `nil` when it is still running after `timeout` seconds.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = lock.withLock({ exitStatus }) {
                return status
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Sends SIGKILL to QEMU when it is still running.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
        }
    }

    private func readConsole(_ handle: FileHandle) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty {
                break
            }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let lineData = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                var text = String(decoding: lineData, as: UTF8.self)
                while text.hasSuffix("\r") {
                    text.removeLast()
                }
                let seconds = Date().timeIntervalSince(launchedAt)
                lock.withLock { collectedLines.append((seconds, text)) }
            }
        }
        if !pending.isEmpty {
            let text = String(decoding: pending, as: UTF8.self)
            let seconds = Date().timeIntervalSince(launchedAt)
            lock.withLock { collectedLines.append((seconds, text)) }
        }
        process.waitUntilExit()
        let status = process.terminationStatus
        lock.withLock { exitStatus = status }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
