import PhaseTracking
import Synchronization

/// A host clock that does not advance until a test moves it, so two encodings of the same instance can be compared byte
/// for byte.
final class StoppedClock: HostClock {
    private let current: Mutex<HostInstant>

    init(wallNanoseconds: Int64 = 1_800_000_000_000_000_000) {
        current = Mutex(HostInstant(wallNanoseconds: wallNanoseconds, bootNanoseconds: 5_000_000_000, bootID: "b"))
    }

    func now() -> HostInstant { current.withLock { $0 } }

    /// Moves both clocks forward by `nanoseconds`.
    func advance(nanoseconds: Int64) {
        current.withLock { $0 = $0.adding(nanoseconds: nanoseconds) }
    }
}
