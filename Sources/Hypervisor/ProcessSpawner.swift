import Foundation
import Glibc
import ProcessSupport

/// Launches processes with `posix_spawn` and a clean inheritance: no blocked signals, default signal dispositions,
/// only the requested descriptors, and no shell.
///
/// A child inherits the calling thread's signal mask, and threads of Dispatch or Swift concurrency may block signals,
/// so the spawner sets the mask explicitly instead of relying on the caller's thread.
public enum ProcessSpawner {
    /// Launches `request` and returns the child's pid. The caller reaps the child with `waitpid`.
    ///
    /// The child starts with no blocked signals and every signal at its default disposition, with one exception:
    /// glibc's `posix_spawn` (checked on 2.36) leaves its two reserved real-time signals, 32 and 33, ignored in the
    /// child. glibc and musl programs install their own handlers for them when they need them.
    ///
    /// Every parent descriptor not listed in `request.descriptors` is closed in the child. With glibc 2.34 or later
    /// this uses `posix_spawn_file_actions_addclosefrom_np`. On older glibc every open descriptor from 3 upwards
    /// is marked `FD_CLOEXEC` in the parent instead, which stays in effect in the parent after the call.
    ///
    /// - Throws: `HypervisorError` with `.executableNotFound` when the executable is missing or not executable,
    ///   `.invalidArgument` for a negative or closed descriptor in the map, or `.spawnFailed` when `posix_spawn` fails.
    public static func spawn(_ request: SpawnRequest) throws -> pid_t {
        let executablePath = try resolveExecutable(request.executable)
        let childDescriptors = request.descriptors.keys.sorted()
        let firstUnlistedDescriptor = max(3, (childDescriptors.last ?? -1) + 1)

        // Each source is first duplicated above every child descriptor number (and close-on-exec), so a dup2 in the
        // file actions never overwrites a source that a later dup2 still reads, whatever the map's order.
        var stagedDescriptors: [Int32: Int32] = [:]
        defer {
            for staged in stagedDescriptors.values { Glibc.close(staged) }
        }
        for child in childDescriptors {
            guard child >= 0, let parent = request.descriptors[child], parent >= 0 else {
                throw HypervisorError(
                    .invalidArgument,
                    "Invalid descriptor map \(request.descriptors) for \(request.executable): numbers must be 0 or more."
                )
            }
            let staged = fcntl(parent, F_DUPFD_CLOEXEC, firstUnlistedDescriptor)
            guard staged >= 0 else {
                throw HypervisorError(
                    .invalidArgument,
                    "Parent descriptor \(parent) for child descriptor \(child) of \(request.executable) is not open: "
                        + "\(errnoDescription(errno)). Pass an open descriptor."
                )
            }
            stagedDescriptors[child] = staged
        }

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        for standard: Int32 in 0...2 where stagedDescriptors[standard] == nil {
            posix_spawn_file_actions_addopen(&fileActions, standard, "/dev/null", O_RDWR, 0)
        }
        for child in childDescriptors {
            if let staged = stagedDescriptors[child] {
                posix_spawn_file_actions_adddup2(&fileActions, staged, child)
            }
        }
        // glibc ignores EBADF for a close action, so gaps that are not open in the parent are harmless.
        for gap in Int32(3)..<firstUnlistedDescriptor where stagedDescriptors[gap] == nil {
            posix_spawn_file_actions_addclose(&fileActions, gap)
        }
        let closeFromAdded = DescriptorCloser.addCloseFrom.map { $0(&fileActions, firstUnlistedDescriptor) == 0 }
        if closeFromAdded != true {
            DescriptorCloser.markCloseOnExec(from: 3)
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
        if request.newSession {
            flags |= spawnSetSessionFlag
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let environment = request.environment ?? ProcessInfo.processInfo.environment
        let argv = CStringArray([request.executable] + request.arguments)
        let envp = CStringArray(environment.map { "\($0.key)=\($0.value)" })
        defer {
            argv.deallocate()
            envp.deallocate()
        }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executablePath, &fileActions, &attributes, argv.pointers, envp.pointers)
        guard result == 0 else {
            throw HypervisorError(
                .spawnFailed,
                "posix_spawn of \(executablePath) failed: \(errnoDescription(result)). "
                    + "Check that the file is a valid executable for this machine."
            )
        }
        return pid
    }

    /// Signals 32 and 33, which glibc reserves for thread cancellation and `setxid`, as bits of `/proc/PID/status`
    /// masks (bit N-1 is signal N).
    static let glibcReservedSignalsMask: UInt64 = 0x1_8000_0000

    /// `POSIX_SPAWN_SETSID` from glibc's `spawn.h` (glibc 2.26 or later). Swift does not import it because glibc
    /// declares it only under `_GNU_SOURCE`.
    static let spawnSetSessionFlag: Int32 = 0x80

    /// Returns the absolute path for `executable`, searching this process's `PATH` when the name has no slash.
    ///
    /// - Throws: `HypervisorError` with `.executableNotFound` when the file is missing, not executable, or not in
    ///   `PATH`.
    public static func resolveExecutable(_ executable: String) throws -> String {
        if executable.contains("/") {
            guard access(executable, X_OK) == 0 else {
                throw HypervisorError(
                    .executableNotFound,
                    "Executable \(executable) is missing or not executable: \(errnoDescription(errno)). "
                        + "Check the path or its permissions."
                )
            }
            return executable
        }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(directory)/\(executable)"
            var status = stat()
            if stat(candidate, &status) == 0, status.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw HypervisorError(
            .executableNotFound,
            "Executable \(executable) was not found in PATH (\(searchPath)). Install it or pass its absolute path."
        )
    }
}
