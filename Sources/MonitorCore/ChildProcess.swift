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
        let childDescriptors = descriptors.keys.sorted()
        let firstFree = max(3, (childDescriptors.last ?? -1) + 1)

        // Each source is first duplicated above every child number (close-on-exec), so no dup2 of the file actions
        // overwrites a source that a later dup2 still reads, whatever the order of the map.
        var staged: [Int32: Int32] = [:]
        defer {
            for descriptor in staged.values { close(descriptor) }
        }
        for child in childDescriptors {
            guard let parent = descriptors[child], parent >= 0 else { continue }
            let copy = fcntl(parent, F_DUPFD_CLOEXEC, firstFree)
            guard copy >= 0 else {
                throw MonitorError(
                    "descriptor \(parent) for descriptor \(child) of \(executable) is not open: \(errnoText(errno))")
            }
            staged[child] = copy
        }

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        for standard: Int32 in 0...2 where staged[standard] == nil {
            posix_spawn_file_actions_addopen(&fileActions, standard, "/dev/null", O_RDWR, 0)
        }
        for child in childDescriptors {
            if let copy = staged[child] {
                posix_spawn_file_actions_adddup2(&fileActions, copy, child)
            }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = CStringArray([executable] + arguments)
        defer { argv.deallocate() }
        var pid: pid_t = 0
        // The monitor never changes its environment, so reading `environ` while other threads run is safe.
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv.pointers, environ)
        guard result == 0 else {
            throw MonitorError(
                "posix_spawn of \(executable) failed: \(errnoText(result)); check that it is an executable for this "
                    + "machine")
        }
        return pid
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
