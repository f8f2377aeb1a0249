import Foundation
import Synchronization

/// A request sent on a thread of its own, so the test can act while the server keeps it open.
final class WaitingRequest: Sendable {
    private struct Outcome {
        var reply: Result<HTTPReply, any Error>
        var finishedAt: ContinuousClock.Instant
    }

    private let outcome = Mutex<Outcome?>(nil)

    /// Sends `GET target` at once on a new thread.
    init(_ client: LoopbackHTTPClient, _ target: String) {
        let thread = Thread { [self] in
            let reply = Result<HTTPReply, any Error> { try client.send("GET", target, timeout: .seconds(60)) }
            record(Outcome(reply: reply, finishedAt: ContinuousClock.now))
        }
        thread.start()
    }

    private func record(_ finished: Outcome) {
        outcome.withLock { $0 = finished }
    }

    /// Waits up to `timeout` for the response and returns it with the moment it arrived.
    func result(timeout: Duration) throws -> (reply: HTTPReply, finishedAt: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let done = outcome.withLock({ $0 }) {
                return (try done.reply.get(), done.finishedAt)
            }
            usleep(10_000)
        }
        throw TestFailure("the waiting request got no response within \(timeout)")
    }
}
