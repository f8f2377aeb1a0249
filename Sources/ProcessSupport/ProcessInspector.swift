import Glibc

/// Facts about a process looked up by pid in `/proc`, usable from any process, not only the parent.
public enum ProcessInspector {
    /// Returns the start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`), or `nil` when no such
    /// process exists.
    ///
    /// Together with the pid, the start time identifies one process, because the kernel can reuse a pid only for a
    /// process that starts later.
    public static func startTime(of pid: pid_t) -> UInt64? {
        guard let fields = statFields(of: pid), fields.count > startTimeIndex else { return nil }
        return UInt64(fields[startTimeIndex])
    }

    /// Returns whether `pid` exists and is not a zombie and, when `startTime` is non-nil, started at that time.
    public static func isAlive(_ pid: pid_t, startTime: UInt64?) -> Bool {
        guard let fields = statFields(of: pid), fields.count > startTimeIndex else { return false }
        let state = fields[stateIndex]
        // Z is a zombie that waits for its parent, X a process being torn down.
        if state == "Z" || state == "X" {
            return false
        }
        if let startTime {
            return UInt64(fields[startTimeIndex]) == startTime
        }
        return true
    }

    /// Returns the pid of the parent of `pid` (field 4 of `/proc/PID/stat`), or `nil` when no such process exists.
    public static func parentPID(of pid: pid_t) -> pid_t? {
        guard let fields = statFields(of: pid), fields.count > parentIndex else { return nil }
        return pid_t(fields[parentIndex])
    }

    /// Returns the pids of live processes with an argument that names a path inside `directory`, such as a guest's
    /// monitor and QEMU, whose sockets and logs lie in the instance directory. Processes of other users whose
    /// command lines cannot be read are skipped.
    public static func processes(withArgumentsInside directory: String) -> [pid_t] {
        guard let listing = opendir("/proc") else { return [] }
        defer { closedir(listing) }
        let prefix = Array((directory.hasSuffix("/") ? directory : directory + "/").utf8)
        var pids: [pid_t] = []
        while let entry = readdir(listing) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), pid != getpid(), let commandLine = readProcFile("/proc/\(pid)/cmdline") else {
                continue
            }
            let arguments = commandLine.split(separator: 0, omittingEmptySubsequences: true)
            // QEMU takes paths inside option values such as `unix:PATH,server=on`, so any occurrence counts.
            if arguments.contains(where: { $0.firstRange(of: prefix) != nil }), isAlive(pid, startTime: nil) {
                pids.append(pid)
            }
        }
        return pids.sorted()
    }

    /// Index of field 3 (state) among the fields after the command name.
    private static let stateIndex = 0
    /// Index of field 4 (ppid) among the fields after the command name.
    private static let parentIndex = 1
    /// Index of field 22 (starttime) among the fields after the command name.
    private static let startTimeIndex = 19

    /// Returns the fields of `/proc/PID/stat` from field 3 onwards.
    ///
    /// Field 2 is the command name in parentheses and may itself contain spaces and `)`, so parsing starts after the
    /// last `)` in the file.
    private static func statFields(of pid: pid_t) -> [Substring]? {
        guard pid > 0, let bytes = readProcFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let closingParenthesis = text.lastIndex(of: ")") else { return nil }
        let rest = text[text.index(after: closingParenthesis)...]
        return rest.split(separator: " ", omittingEmptySubsequences: true)
    }
}

/// Returns the whole content of a file in `/proc`, or `nil` when it cannot be opened.
///
/// `/proc` files report a size of 0, so this reads until end of file instead of trusting `stat`.
public func readProcFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var content: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { return content }
        content.append(contentsOf: chunk[0..<count])
    }
}
