import Synchronization

/// The result of a request made on another thread.
final class ResponseBox: Sendable {
    private let value = Mutex<Result<WireResponse, TestFailure>?>(nil)

    func store(_ result: Result<WireResponse, any Error>) {
        let mapped = result.mapError { $0 as? TestFailure ?? TestFailure("\($0)") }
        value.withLock { $0 = mapped }
    }

    func load() -> Result<WireResponse, TestFailure>? {
        value.withLock { $0 }
    }
}
