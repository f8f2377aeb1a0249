import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The instance's serial log: one line per console line, prefixed with the host time at which it was read.
///
/// When an entry would take the file past `limitBytes`, the file is renamed to `PATH.1` (replacing an older one) and
/// started again. So at most two files of about that size exist, and a guest flooding its console cannot fill the
/// disk. A file that cannot be opened is reported to the log once per attempt, and its entries are dropped.
public struct SerialLogWriter {
    public let path: String
    public let limitBytes: Int
    private let log: MonitorLog
    private var descriptor: Int32 = -1
    private var loggedBytes = 0

    /// Opens `path` for appending, creating it with mode 0600, and counts the bytes it already has.
    public init(path: String, limitBytes: Int, log: MonitorLog) {
        self.path = path
        self.limitBytes = limitBytes
        self.log = log
        descriptor = openFile()
        var info = stat()
        loggedBytes = stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Returns one entry of the log: the RFC 3339 UTC timestamp with nanoseconds, a space, the text and a newline,
    /// e.g. `2026-12-04T20:17:42.000000123Z hello\n`.
    public static func entry(_ text: String, at instant: HostInstant) -> String {
        instant.timestamp + " " + text + "\n"
    }

    /// Appends `text` as one entry stamped `instant`, rotating first when the entry would pass the limit.
    public mutating func append(_ text: String, at instant: HostInstant) {
        let entry = Array(SerialLogWriter.entry(text, at: instant).utf8)
        if loggedBytes + entry.count > limitBytes {
            if descriptor >= 0 { Glibc.close(descriptor) }
            rename(path, path + ".1")
            descriptor = openFile()
            loggedBytes = 0
        }
        if descriptor >= 0 {
            _ = writeAll(entry, to: descriptor)
            loggedBytes += entry.count
        }
    }

    /// Appends the console's last line, which had no newline when the console closed, without checking the limit.
    public mutating func appendFinal(_ text: String, at instant: HostInstant) {
        if descriptor >= 0 {
            _ = writeAll(Array(SerialLogWriter.entry(text, at: instant).utf8), to: descriptor)
        }
    }

    public mutating func close() {
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
    }

    private func openFile() -> Int32 {
        let file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if file < 0 {
            log.error("cannot open serial log", ["path": path, "error": errnoText(errno)])
        }
        return file
    }
}

/// Writes all of `bytes` to `descriptor`, retrying after signals and short writes. Returns false on an error.
@discardableResult
func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return true }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}
