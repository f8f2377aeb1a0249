import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The monitor's log: one line per event on standard error, in the same form as the `Logger` of the full `stint`,
/// `TIME LEVEL LABEL MESSAGE key=value...`, so `logs/monitor.log` reads the same whichever process wrote a line.
public struct MonitorLog: Sendable {
    public var label: String
    public var metadata: [String: String]

    public init(label: String, metadata: [String: String] = [:]) {
        self.label = label
        self.metadata = metadata
    }

    public func info(_ message: String, _ extra: [String: String] = [:]) { emit("info", message, extra) }
    public func warning(_ message: String, _ extra: [String: String] = [:]) { emit("warning", message, extra) }
    public func error(_ message: String, _ extra: [String: String] = [:]) { emit("error", message, extra) }

    private func emit(_ level: String, _ message: String, _ extra: [String: String]) {
        let fields = metadata.merging(extra) { _, new in new }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(MonitorLog.quote($0.value))" }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let time = RFC3339.format(
            nanosecondsSinceEpoch: Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec), fractionDigits: 3)
        let line = ([time, level, label, MonitorLog.quote(message)] + fields).joined(separator: " ") + "\n"
        writeAll(Array(line.utf8), to: 2)
    }

    /// Returns `value` as is, or in double quotes with `\`, `"` and `\n` escaped when it is empty or contains a
    /// space, a quote, `=` or an ASCII line break.
    ///
    /// The check walks UTF-8 bytes instead of characters, so the monitor never pages in the stdlib's grapheme tables.
    static func quote(_ value: String) -> String {
        let specialBytes: Set<UInt8> = [0x20, 0x22, 0x3D, 0x0A, 0x0B, 0x0C, 0x0D]
        guard value.isEmpty || value.utf8.contains(where: specialBytes.contains) else { return value }
        var escaped: [UInt8] = [0x22]
        for byte in value.utf8 {
            switch byte {
            case 0x5C: escaped += [0x5C, 0x5C]
            case 0x22: escaped += [0x5C, 0x22]
            case 0x0A: escaped += [0x5C, 0x6E]
            default: escaped.append(byte)
            }
        }
        escaped.append(0x22)
        return String(decoding: escaped, as: UTF8.self)
    }
}
