import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Descriptor facts that the monitor reads from `/proc`, and the heartbeat file's touch.
enum ProcessFacts {
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
}
