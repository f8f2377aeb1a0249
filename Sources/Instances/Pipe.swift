#if canImport(Glibc)
    import Glibc
#endif

/// Creates a pipe whose both ends are close-on-exec; Swift does not import glibc's `pipe2`.
/// Returns (read end, write end), or nil with `errno` set.
func makeClosingPipe() -> (read: Int32, write: Int32)? {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else { return nil }
    for end in ends {
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    return (ends[0], ends[1])
}
