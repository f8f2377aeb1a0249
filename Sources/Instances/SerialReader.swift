import Foundation
import GuestImage
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the guest's serial console line by line, stamps each line with the host time at which it was read,
/// appends it to the serial log, and passes boot markers to the recorder.
struct SerialReader: Sendable {
    let descriptor: Int32
    let logPath: String
    let clock: any HostClock
    let recorder: TransitionRecorder
    let log: Logger

    func run() {
        var logFile = openLog()
        var loggedBytes = currentSize()
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        defer {
            close(descriptor)
            if logFile >= 0 { close(logFile) }
        }

        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            let instant = clock.now()
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 10) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == 13 { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                if let marker = BootMarker.parse(text) {
                    recorder.recordMarker(marker, at: instant)
                }
                let entry = Data((instant.timestamp + " " + text + "\n").utf8)
                if loggedBytes + entry.count > Monitor.serialLogLimitBytes {
                    if logFile >= 0 { close(logFile) }
                    rename(logPath, logPath + ".1")
                    logFile = openLog()
                    loggedBytes = 0
                }
                if logFile >= 0 {
                    try? DurableFile.writeAll(entry, to: logFile, path: logPath)
                    loggedBytes += entry.count
                }
            }
        }
        if !pending.isEmpty, logFile >= 0 {
            let entry = Data((clock.now().timestamp + " " + String(decoding: pending, as: UTF8.self) + "\n").utf8)
            try? DurableFile.writeAll(entry, to: logFile, path: logPath)
        }
    }

    private func openLog() -> Int32 {
        let file = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if file < 0 {
            log.error("cannot open serial log", ["path": logPath, "error": String(cString: strerror(errno))])
        }
        return file
    }

    private func currentSize() -> Int {
        var info = stat()
        return stat(logPath, &info) == 0 ? Int(info.st_size) : 0
    }
}
