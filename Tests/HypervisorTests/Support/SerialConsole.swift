import Foundation
import Glibc
import Synchronization

/// Collects the lines that a QEMU child writes to a pipe, on a background thread, until end of file.
final class SerialConsole: Sendable {
    private struct State {
        var lines: [String] = []
        var partialLine: [UInt8] = []
        var reachedEndOfFile = false
    }

    private let state = Mutex(State())

    /// Starts reading `readDescriptor`. The console owns the descriptor and closes it at end of file.
    init(readDescriptor: Int32) {
        let thread = Thread { [self] in
            readUntilEndOfFile(readDescriptor)
        }
        thread.start()
    }

    var lines: [String] {
        state.withLock { $0.lines }
    }

    var reachedEndOfFile: Bool {
        state.withLock { $0.reachedEndOfFile }
    }

    /// Returns the first line at or after `index` that satisfies `predicate`, waiting at most `timeout`.
    func waitForLine(from index: Int = 0, timeout: Duration, where predicate: (String) -> Bool) -> (
        index: Int, line: String
    )? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var scanned = index
        while true {
            let (snapshot, ended) = state.withLock { ($0.lines, $0.reachedEndOfFile) }
            while scanned < snapshot.count {
                if predicate(snapshot[scanned]) {
                    return (scanned, snapshot[scanned])
                }
                scanned += 1
            }
            if ended || ContinuousClock.now >= deadline {
                return nil
            }
            usleep(20_000)
        }
    }

    /// Waits until the writer closed the pipe. Returns false on timeout.
    func waitForEndOfFile(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while !reachedEndOfFile {
            if ContinuousClock.now >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    private func readUntilEndOfFile(_ descriptor: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            let chunk = buffer[0..<count]
            state.withLock { state in
                for byte in chunk {
                    if byte == UInt8(ascii: "\n") {
                        var line = String(decoding: state.partialLine, as: UTF8.self)
                        if line.hasSuffix("\r") { line.removeLast() }
                        state.lines.append(line)
                        state.partialLine.removeAll()
                    } else {
                        state.partialLine.append(byte)
                    }
                }
            }
        }
        close(descriptor)
        state.withLock { $0.reachedEndOfFile = true }
    }
}

/// Returns N for a line `tick N`, or nil for any other line.
func tickNumber(in line: String) -> Int? {
    guard line.hasPrefix("tick ") else { return nil }
    return Int(line.dropFirst(5))
}
