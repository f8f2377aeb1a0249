import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
enum Termination: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// A process started with `posix_spawn`, an empty signal mask and default signal actions, with its standard output
/// and standard error in files.
///
/// `Foundation.Process` started from a Swift concurrency thread can hand the child a blocked signal mask, and then
/// `stint serve` would never receive the SIGTERM that the restart tests send. Spawning directly avoids that.
final class ChildProcess {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    private(set) var termination: Termination?

    /// Starts `executable` with `arguments` and `/dev/null` as standard input. Throws when the spawn fails.
    init(
        executable: String, arguments: [String], environment: [String: String], outputPath: String,
        errorPath: String
    ) throws {
        self.outputPath = outputPath
        self.errorPath = errorPath

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signalNumber in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] {
            sigaddset(&defaults, signalNumber)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestFailure("posix_spawn of \(executable) failed: \(String(cString: strerror(result)))")
        }
        pid = child
    }

    deinit {
        if termination == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Waits up to `timeout` for the process to end and returns how it ended, or nil while it still runs.
    @discardableResult
    func wait(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while termination == nil {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                // The wait status layout of Linux: low 7 bits are the signal, bits 8 to 15 the exit code.
                let signal = status & 0x7f
                termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
            } else if ContinuousClock.now >= deadline {
                return nil
            } else {
                usleep(20_000)
            }
        }
        return termination
    }

    /// Sends `signalNumber` unless the process has already been reaped.
    func send(_ signalNumber: Int32) {
        if termination == nil {
            kill(pid, signalNumber)
        }
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// A test precondition that failed, with a message that names the value and the cause.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
