import CSystemCalls
import Glibc
import ProcessSupport

/// Waits for any process to exit, not only a child, through a pidfd (`pidfd_open`, Linux 5.3 or later).
///
/// The kernel makes a pidfd readable the moment its process exits, so the wait ends without polling `/proc`.
/// A zombie that its parent has not reaped yet counts as exited, as in `ProcessInspector.isAlive`.
public enum ProcessExitWaiter {
    /// Interval between two looks at `/proc` on kernels without `pidfd_open`.
    private static let fallbackPollInterval: UInt32 = 5_000

    /// Waits until process `pid` has exited or `timeout` has passed.
    ///
    /// - Parameter startTime: The process's start time from `ProcessInspector.startTime(of:)`. A process with the
    ///   same pid but another start time is a later process, and the one waited for counts as exited.
    /// - Returns: `true` when the process has exited, `false` when it still runs after `timeout`.
    public static func wait(for pid: pid_t, startTime: UInt64?, timeout: Duration) -> Bool {
        let descriptor = stint_pidfd_open(pid)
        guard descriptor >= 0 else {
            if errno == ESRCH { return true }
            return pollProc(pid, startTime: startTime, timeout: timeout)
        }
        defer { close(descriptor) }
        // The pid may have been reused between the caller reading it and pidfd_open, so the start time decides
        // whether the descriptor refers to the process the caller means.
        guard ProcessInspector.isAlive(pid, startTime: startTime) else { return true }

        let deadline = Deadline(after: timeout)
        while true {
            var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, deadline.remainingMilliseconds)
            if ready > 0 { return true }
            if ready < 0, errno == EINTR { continue }
            if ready < 0 { return pollProc(pid, startTime: startTime, timeout: timeout) }
            return !ProcessInspector.isAlive(pid, startTime: startTime)
        }
    }

    private static func pollProc(_ pid: pid_t, startTime: UInt64?, timeout: Duration) -> Bool {
        let deadline = Deadline(after: timeout)
        while ProcessInspector.isAlive(pid, startTime: startTime) {
            if deadline.hasPassed { return false }
            usleep(fallbackPollInterval)
        }
        return true
    }
}
