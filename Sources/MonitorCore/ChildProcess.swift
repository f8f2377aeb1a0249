import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Launches the monitor's children, QEMU and `stint monitor-record`, with `posix_spawn` and a clean inheritance: no
/// blocked signals, every signal at its default disposition, and only the listed descriptors.
///
/// Only the listed descriptors reach the child because every other descriptor of the monitor is close-on-exec:
/// `Monitor` marks the inherited ones at start and opens all others with `O_CLOEXEC`.
enum ChildProcess {
    /// Launches `executable` (an absolute path, also the child's `argv[0]`) with `arguments` and the monitor's own
    /// environment, and returns its pid. The caller reaps the child with `waitpid`.
    ///
    /// `descriptors` maps each child descriptor number to the monitor's descriptor that is duplicated there. Each of
    /// 0, 1 and 2 missing from the map is opened on `/dev/null`.
    ///
    /// - Throws: `MonitorError` when a descriptor in the map is not open or `posix_spawn` fails.
    static func spawn(executable: String, arguments: [String], descriptors: [Int32: Int32]) throws(MonitorError)
        -> pid_t
    {
        do {
            // The monitor never changes its environment, so reading `environ` while other threads run is safe.
            return try ProcessLaunch.spawn(
                path: executable, arguments: [executable] + arguments, environment: nil, descriptors: descriptors,
                closingUnlisted: false)
        } catch {
            switch error {
            case .invalidDescriptor(let child, let parent):
                throw MonitorError("descriptor \(parent) for descriptor \(child) of \(executable) is negative")
            case .descriptorNotOpen(let child, let parent, let code):
                throw MonitorError(
                    "descriptor \(parent) for descriptor \(child) of \(executable) is not open: \(errnoText(code))")
            case .spawnFailed(let code):
                throw MonitorError(
                    "posix_spawn of \(executable) failed: \(errnoText(code)); check that it is an executable for this "
                        + "machine")
            }
        }
    }

    /// Replaces the monitor with `executable` (an absolute path, also `argv[0]`) and `arguments`, keeping its pid,
    /// its environment and its descriptors 0 to 2. Returns only when `execve` fails, with the error.
    static func replaceProcess(executable: String, arguments: [String]) -> MonitorError {
        let argv = CStringArray([executable] + arguments)
        execve(executable, argv.pointers, environ)
        let error = MonitorError.system("execve", executable, advice: "build all products so stint is installed")
        argv.deallocate()
        return error
    }

    /// Waits for `pid` to end and returns its `waitpid` status, or nil when it is not a child of this process.
    static func wait(for pid: pid_t) -> Int32? {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return nil }
        }
        return status
    }
}
