#if canImport(Glibc)
    import Glibc
#endif

/// Facts about processes and descriptors that the monitor reads from `/proc`, and the heartbeat file's touch.
enum ProcessFacts {
    /// Returns the start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`), or nil when no such
    /// process exists. Field 2, the command name, may contain spaces and `)`, so fields are counted after the last `)`.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard pid > 0, let bytes = readFile("/proc/\(pid)/stat"),
            let closingParenthesis = bytes.lastIndex(of: UInt8(ascii: ")"))
        else { return nil }
        let fields = bytes[(closingParenthesis + 1)...].split(separator: UInt8(ascii: " "))
        // Field 22 is index 19 among the fields that follow field 2.
        guard fields.count > 19 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }

    /// Sets `FD_CLOEXEC` on every open descriptor numbered 3 or more, found by listing `/proc/self/fd`.
    ///
    /// Call this before the monitor starts any thread, so no descriptor opened meanwhile escapes the scan.
    static func markInheritedDescriptorsCloseOnExec() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let descriptor = Int32(name), descriptor >= 3 else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 {
                _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC)
            }
        }
    }

    /// Sets the modification time of `path` to now, creating the file with mode 0600 when missing.
    static func touch(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        futimens(descriptor, nil)
        close(descriptor)
    }

    /// Returns the whole content of a file in `/proc`, which reports a size of 0, so this reads until end of file.
    private static func readFile(_ path: String) -> [UInt8]? {
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
            content += chunk[0..<count]
        }
    }
}
