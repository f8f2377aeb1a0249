import Foundation
import PhaseTracking

/// Stint's logging facade: one line per event on standard error, a fixed message plus structured metadata
/// (`key=value`, dotted keys such as `instance.id`). Libraries take the logger from their caller and never print.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug, info, warning, error

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        var name: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warning: return "warning"
            case .error: return "error"
            }
        }
    }

    public var label: String
    public var minimumLevel: Level
    public var metadata: [String: String]

    public init(label: String, minimumLevel: Level = .info, metadata: [String: String] = [:]) {
        self.label = label
        self.minimumLevel = minimumLevel
        self.metadata = metadata
    }

    /// A logger that adds `extra` to every line.
    public func with(_ extra: [String: String]) -> Logger {
        var copy = self
        copy.metadata.merge(extra) { _, new in new }
        return copy
    }

    public func debug(_ message: String, _ extra: [String: String] = [:]) { emit(.debug, message, extra) }
    public func info(_ message: String, _ extra: [String: String] = [:]) { emit(.info, message, extra) }
    public func warning(_ message: String, _ extra: [String: String] = [:]) { emit(.warning, message, extra) }
    public func error(_ message: String, _ extra: [String: String] = [:]) { emit(.error, message, extra) }

    private func emit(_ level: Level, _ message: String, _ extra: [String: String]) {
        guard level >= minimumLevel else { return }
        let fields = metadata.merging(extra) { _, new in new }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Logger.quote($0.value))" }
        let time = RFC3339.format(
            nanosecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1_000_000_000), fractionDigits: 3)
        let line = ([time, level.name, label, Logger.quote(message)] + fields).joined(separator: " ") + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"" + escaped + "\""
    }
}
