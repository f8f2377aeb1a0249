#if canImport(Glibc)
    import Glibc
#endif

/// Ways to keep the parent's descriptors out of a spawned child.
public enum DescriptorCloser {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34 or later), looked up at run time because Swift does
    /// not import declarations that glibc guards with `_GNU_SOURCE`. `nil` when this glibc lacks it.
    static let addCloseFrom: AddCloseFrom? = {
        // A nil handle is RTLD_DEFAULT: search every object already loaded into the process.
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Sets `FD_CLOEXEC` on every open descriptor numbered `lowest` or more, found by listing `/proc/self/fd`.
    ///
    /// NOTE: a descriptor that another thread opens without `O_CLOEXEC` after this scan and before `posix_spawn`
    /// still leaks into the child. This path only runs on glibc older than 2.34.
    public static func markCloseOnExec(from lowest: Int32) {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let descriptor = Int32(name), descriptor >= lowest else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 {
                _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC)
            }
        }
    }
}
