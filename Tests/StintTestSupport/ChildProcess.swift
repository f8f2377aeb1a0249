import Foundation
import Hypervisor

#if canImport(Glibc)
    import Glibc
#endif

/// The end of a child process.
public enum Termination: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): return "exited with status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// A child process for tests, started with Stint's own `ProcessSpawner`: an empty signal mask, default signal
/// actions, standard input from `/dev/null`, and standard output and error in files.
///
/// `Foundation.Process` started from a Swift concurrency thread can hand the child a blocked signal mask, and then a
/// server would never see the SIGTERM that tests send. `deinit` kills the child with SIGKILL and reaps it unless it
/// was reaped before.
public final class ChildProcess {
    public let pid: pid_t
    public let outputPath: String
    public let errorPath: String
    public private(set) var termination: Termination?

    /// Starts `executable` with `arguments` (without argv[0]).
    ///
    /// - Parameters:
    ///   - environment: Added to this process's environment, or the whole environment when `inheritEnvironment` is
    ///     false.
    ///   - appendOutput: Append to the output files instead of truncating them.
    public init(
        executable: String, arguments: [String], environment: [String: String] = [:], inheritEnvironment: Bool = true,
        outputPath: String, errorPath: String, appendOutput: Bool = true
    ) throws {
        self.outputPath = outputPath
        self.errorPath = errorPath
        var fullEnvironment = environment
        if inheritEnvironment {
            fullEnvironment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let mode = O_WRONLY | O_CREAT | O_CLOEXEC | (appendOutput ? O_APPEND : O_TRUNC)
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let output = open(outputPath, mode, 0o600)
        let errors = open(errorPath, mode, 0o600)
        defer {
            for descriptor in [input, output, errors] where descriptor >= 0 {
                close(descriptor)
            }
        }
        guard input >= 0, output >= 0, errors >= 0 else {
            throw SpawnFailure("cannot open the output files \(outputPath) and \(errorPath) for \(executable)")
        }
        do {
            pid = try ProcessSpawner.spawn(
                SpawnRequest(
                    executable: executable, arguments: arguments, environment: fullEnvironment,
                    descriptors: [0: input, 1: output, 2: errors]))
        } catch {
            throw SpawnFailure("spawning \(executable) failed: \(error)")
        }
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
    public func wait(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while termination == nil {
            var status: Int32 = 0
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid {
                // The Linux wait status: the low 7 bits are the signal, bits 8 to 15 the exit code.
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

    /// Waits up to `timeout` and returns the exit code, or 128 plus the signal number that ended the process;
    /// nil while it still runs.
    public func waitForExit(timeout: Duration) -> Int32? {
        switch wait(timeout: timeout) {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        case nil: return nil
        }
    }

    /// True while the process has not ended.
    public var isRunning: Bool {
        wait(timeout: .zero) == nil
    }

    /// Sends `signalNumber` unless the process was already reaped, which would make the pid unsafe to use.
    public func send(_ signalNumber: Int32) {
        if termination == nil {
            kill(pid, signalNumber)
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    public func killAndReap() {
        send(SIGKILL)
        wait(timeout: .seconds(10))
    }

    /// The standard output so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    /// The standard error so far.
    public var errorOutput: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
}

/// A child process that could not be started, with the executable and the cause.
public struct SpawnFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
