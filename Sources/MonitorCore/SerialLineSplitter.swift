/// Splits the bytes read from the serial console into lines.
///
/// A line ends at `\n`. One `\r` before it is dropped too, because the guest's console sends `\r\n`. Bytes that are
/// not valid UTF-8 become U+FFFD. A guest that writes without newlines gets its output cut into lines of
/// `maximumLineBytes`, so the monitor's memory stays bounded whatever the guest prints.
public struct SerialLineSplitter: Sendable {
    /// The maximum line length in bytes. Longer output is split at this length.
    public let maximumLineBytes: Int
    private var pending: [UInt8] = []

    public init(maximumLineBytes: Int = 16 * 1024) {
        self.maximumLineBytes = max(1, maximumLineBytes)
    }

    /// Adds `bytes` and returns every line they complete, without its terminator.
    public mutating func append(_ bytes: ArraySlice<UInt8>) -> [String] {
        pending += bytes
        var lines: [String] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 10) {
            var end = newline
            if end > start, pending[end - 1] == 13 {
                end -= 1
            }
            lines.append(String(decoding: pending[start..<end], as: UTF8.self))
            start = newline + 1
        }
        while pending.count - start >= maximumLineBytes {
            lines.append(String(decoding: pending[start..<(start + maximumLineBytes)], as: UTF8.self))
            start += maximumLineBytes
        }
        if start > 0 {
            pending.removeFirst(start)
        }
        return lines
    }

    /// Removes and returns the bytes after the last newline as text, or returns nil when there are none.
    public mutating func takeRemainder() -> String? {
        guard !pending.isEmpty else { return nil }
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }
}
