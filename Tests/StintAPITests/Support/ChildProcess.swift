import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, with an empty signal mask and default signal actions, standard
/// input from `/dev/null` and standard output and error appended to files.
///
/// `Foundation.Process` can hand its child a blocked signal mask, which would hide a server's SIGTERM handling
/// from the tests that check it. `deinit` kills the child with SIGKILL and reaps it unless it was reaped before.
final class ChildProcess {
    let pid: pid_t
    let outputPath: String
    let errorPath: String
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` (without argv[0]) and `environment` added to this process's.
    init(
        executable: String, arguments: [String], environment: [String: String] = [:], outputPath: String,
        errorPath: String
    ) throws {
        self.outputPath = outputPath
        self.errorPath = errorPath

        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaultSignals, signalNumber)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var childPID: pid_t = 0
        let result = posix_spawn(&childPID, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestFailure("posix_spawn of '\(executable)' failed: \(String(cString: strerror(result)))")
        }
        pid = childPID
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// The child's standard output so far.
    var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// The child's standard error so far.
    var errorOutput: String {
        (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    }

    /// True while the child has not been reaped and has not exited.
    var isRunning: Bool {
        pollExit() == nil
    }

    /// Sends `signalNumber` to the child unless it was reaped, which would make the pid unsafe to use.
    func send(_ signalNumber: Int32) {
        guard exitStatus == nil else { return }
        kill(pid, signalNumber)
    }

    /// Waits up to `timeout` for the child to exit and returns its exit code, or 128 plus the signal number
    /// that ended it. Returns nil when it still runs at the deadline.
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let code = pollExit() { return code }
            guard ContinuousClock.now < deadline else { return nil }
            usleep(20_000)
        }
    }

    /// Kills the child with SIGKILL and reaps it.
    func killAndReap() {
        send(SIGKILL)
        _ = waitForExit(timeout: .seconds(10))
    }

    private func pollExit() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        // WIFEXITED and WTERMSIG are macros that Swift does not import: the low 7 bits hold the signal number.
        let signalNumber = status & 0x7f
        let code = signalNumber == 0 ? (status >> 8) & 0xff : 128 + signalNumber
        exitStatus = code
        return code
    }
}
