import Foundation
import Synchronization

/// Runs blocking jobs on dedicated threads, at most `maximumThreads` at once, in submission order.
///
/// Threads are started on demand and exit when no job waits, so an idle server keeps no threads. Dedicated
/// threads (instead of Dispatch's global queues) keep a handler that blocks for seconds from starving
/// Dispatch work elsewhere in the process.
final class HandlerPool: Sendable {
    private struct State {
        var waitingJobs: [@Sendable () -> Void] = []
        var runningThreads = 0
    }

    private let maximumThreads: Int
    private let state = Mutex(State())

    init(maximumThreads: Int) {
        self.maximumThreads = maximumThreads
    }

    /// Queues `job`; it runs on a pool thread as soon as one is free.
    func submit(_ job: @escaping @Sendable () -> Void) {
        let startsThread = state.withLock { state in
            state.waitingJobs.append(job)
            guard state.runningThreads < maximumThreads else { return false }
            state.runningThreads += 1
            return true
        }
        if startsThread {
            let thread = Thread { [self] in runJobs() }
            thread.name = "HTTPServer.handler"
            thread.start()
        }
    }

    private func runJobs() {
        while let job = nextJob() {
            job()
        }
    }

    /// Takes the oldest waiting job, or retires the calling thread when none waits.
    private func nextJob() -> (@Sendable () -> Void)? {
        state.withLock { state in
            guard !state.waitingJobs.isEmpty else {
                state.runningThreads -= 1
                return nil
            }
            // The queue is bounded by the connection limit, so removing from the front stays cheap.
            return state.waitingJobs.removeFirst()
        }
    }
}
