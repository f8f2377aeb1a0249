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

    /// The kernel name of pool threads (at most 15 bytes).
    static let threadName = "http-handler"

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
            let thread = Thread { [self] in
                Self.nameCurrentThread()
                runJobs()
            }
            thread.start()
        }
    }

    /// Gives the calling thread the kernel name `threadName`, so `top -H` and /proc tell handlers from the polling
    /// threads that started them and whose name they inherit. Glibc's `pthread_setname_np` is not visible to Swift
    /// here, so the name is written to the thread's `comm` file.
    private static func nameCurrentThread() {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = threadName.withCString { write(descriptor, $0, strlen($0)) }
        close(descriptor)
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
