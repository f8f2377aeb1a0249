#if canImport(Glibc)
    import Glibc
#endif

/// Launches processes with `posix_spawn` and a clean inheritance: no blocked signals, every signal at its default
/// disposition, standard descriptors on `/dev/null` unless mapped, and no shell. The hypervisor layer and the static
/// monitor both launch through it.
///
/// A child inherits the calling thread's signal mask, and threads of Dispatch or Swift concurrency may block signals,
/// so the mask is set explicitly instead of relying on the caller's thread. glibc's `posix_spawn` (checked on 2.36)
/// still leaves its two reserved real-time signals, 32 and 33, ignored in the child.
public enum ProcessLaunch {
    /// The reason a launch failed, with the `errno` value where there is one.
    public enum Failure: Error, Equatable {
        /// A number in the descriptor map is negative.
        case invalidDescriptor(child: Int32, parent: Int32)
        /// The parent descriptor for `child` is not open.
        case descriptorNotOpen(child: Int32, parent: Int32, code: Int32)
        /// `posix_spawn` itself failed.
        case spawnFailed(code: Int32)
    }

    /// Launches `path` with `arguments` (the whole `argv`, `argv[0]` included) and returns the child's pid. The caller
    /// reaps the child with `waitpid`.
    ///
    /// - Parameters:
    ///   - environment: `NAME=value` strings, or nil for this process's own `environ`, which the caller must not
    ///     change while other threads run.
    ///   - descriptors: maps each child descriptor number to the parent descriptor duplicated there. Each of 0, 1
    ///     and 2 missing from the map is opened on `/dev/null`.
    ///   - closingUnlisted: closes every other descriptor in the child, with `posix_spawn_file_actions_addclosefrom_np`
    ///     on glibc 2.34 or later. On older glibc every open descriptor from 3 upwards is marked `FD_CLOEXEC` in the
    ///     parent instead, which stays in effect after the call. Without it, the caller's descriptors must be
    ///     close-on-exec.
    ///   - newSession: starts the child in a session of its own (`setsid`).
    public static func spawn(
        path: String, arguments: [String], environment: [String]?, descriptors: [Int32: Int32],
        closingUnlisted: Bool, newSession: Bool = false
    ) throws(Failure) -> pid_t {
        let childDescriptors = descriptors.keys.sorted()
        let firstUnlisted = max(3, (childDescriptors.last ?? -1) + 1)

        // Each source is first duplicated above every child descriptor number (and close-on-exec), so a dup2 in the
        // file actions never overwrites a source that a later dup2 still reads, whatever the map's order.
        var staged: [Int32: Int32] = [:]
        defer {
            for descriptor in staged.values { close(descriptor) }
        }
        for child in childDescriptors {
            let parent = descriptors[child] ?? -1
            guard child >= 0, parent >= 0 else { throw .invalidDescriptor(child: child, parent: parent) }
            let copy = fcntl(parent, F_DUPFD_CLOEXEC, firstUnlisted)
            guard copy >= 0 else { throw .descriptorNotOpen(child: child, parent: parent, code: errno) }
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
        if closingUnlisted {
            // glibc ignores EBADF for a close action, so gaps that are not open in the parent are harmless.
            for gap in Int32(3)..<firstUnlisted where staged[gap] == nil {
                posix_spawn_file_actions_addclose(&fileActions, gap)
            }
            let closeFromAdded = DescriptorCloser.addCloseFrom.map { $0(&fileActions, firstUnlisted) == 0 }
            if closeFromAdded != true {
                DescriptorCloser.markCloseOnExec(from: 3)
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
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession {
            flags |= spawnSetSessionFlag
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = CStringArray(arguments)
        defer { argv.deallocate() }
        var pid: pid_t = 0
        let result: Int32
        if let environment {
            let envp = CStringArray(environment)
            defer { envp.deallocate() }
            result = posix_spawn(&pid, path, &fileActions, &attributes, argv.pointers, envp.pointers)
        } else {
            result = posix_spawn(&pid, path, &fileActions, &attributes, argv.pointers, environ)
        }
        guard result == 0 else { throw .spawnFailed(code: result) }
        return pid
    }

    /// Signals 32 and 33, which glibc reserves for thread cancellation and `setxid`, as bits of `/proc/PID/status`
    /// masks (bit N-1 is signal N).
    public static let glibcReservedSignalsMask: UInt64 = 0x1_8000_0000

    /// `POSIX_SPAWN_SETSID` from glibc's `spawn.h` (glibc 2.26 or later). Swift does not import it because glibc
    /// declares it only under `_GNU_SOURCE`.
    static let spawnSetSessionFlag: Int32 = 0x80
}
