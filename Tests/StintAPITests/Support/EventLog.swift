import Foundation
import Synchronization

/// Named events with the time each happened, recorded by several threads, for tests that check ordering.
final class EventLog: Sendable {
    private let events = Mutex<[(name: String, at: ContinuousClock.Instant)]>([])

    func record(_ name: String) {
        let now = ContinuousClock.now
        events.withLock { $0.append((name, now)) }
    }

    /// The time of the first event named `name`, or nil when it has not happened.
    func first(_ name: String) -> ContinuousClock.Instant? {
        events.withLock { list in list.first { $0.name == name }?.at }
    }

    /// The times of all events named `name`, in order.
    func all(_ name: String) -> [ContinuousClock.Instant] {
        events.withLock { list in list.filter { $0.name == name }.map(\.at) }
    }
}
