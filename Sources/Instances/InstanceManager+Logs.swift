import Foundation
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The log of an instance to read.
public enum LogSource: String, Sendable {
    /// The guest's serial console; each line starts with the host time (RFC 3339) at which it was read.
    case serial
    /// QEMU's standard output and error.
    case hypervisor
}

/// The content of a log when it was read, and where to continue following it.
public struct LogExcerpt: Sendable {
    public var instanceID: String
    public var path: String
    public var text: Data
    /// The byte offset after the content read, where `followLog` continues.
    public var endOffset: Int
}

extension InstanceManager {
    /// Reads a log, keeping only the last `tail` lines when given.
    public func readLog(_ reference: String, source: LogSource, tail: Int?) throws -> LogExcerpt {
        let id = try store.resolve(reference)
        let paths = store.paths(forID: id)
        let path = source == .serial ? paths.serialLog : paths.hypervisorLog
        let data = FileManager.default.contents(atPath: path) ?? Data()
        var text = data
        if let tail {
            var lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            text = Data(lines.suffix(tail).joined(separator: [0x0a]))
            if !text.isEmpty { text.append(0x0a) }
        }
        return LogExcerpt(instanceID: id, path: path, text: text, endOffset: data.count)
    }

    /// Passes what is appended to the log after `excerpt` to `output` until `output` returns false, or the instance
    /// is no longer live (or is deleted) and nothing more arrives. A rotated log is read again from its start.
    public func followLog(after excerpt: LogExcerpt, output: (Data) -> Bool) {
        var position = excerpt.endOffset
        var quietRounds = 0
        while true {
            let chunk = readAppended(path: excerpt.path, position: &position)
            if !chunk.isEmpty {
                guard output(chunk) else { return }
                quietRounds = 0
                continue
            }
            quietRounds += 1
            if quietRounds % 5 == 0 {
                guard let state = try? store.loadMetadata(id: excerpt.instanceID).state, state.isLive else { return }
                guard output(Data()) else { return }
            }
            usleep(200_000)
        }
    }

    private func readAppended(path: String, position: inout Int) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        let size = Int((try? handle.seekToEnd()) ?? 0)
        if size < position { position = 0 }
        try? handle.seek(toOffset: UInt64(position))
        let data = (try? handle.readToEnd()) ?? Data()
        position += data.count
        return data
    }
}
