import Foundation
import Synchronization

/// The server's state for one request, from its headers to the request-completed callback.
///
/// libmicrohttpd stores a retained pointer to it in the connection's per-request slot. The handler
/// thread and `HTTPServer.shutdown` reach it too, so all mutable state sits behind a mutex.
final class RequestContext: Sendable {
    /// The stage a request has reached.
    enum Phase {
        /// Headers are in and the body is arriving.
        case receiving
        /// The connection is suspended while a handler runs.
        case handling
        /// The connection was resumed so that the access handler queues this response.
        case responseReady(HTTPResponse)
        /// A response was queued with libmicrohttpd.
        case queued
    }

    private struct State {
        var phase = Phase.receiving
        var body = Data()
        /// Total body bytes received, including any dropped after the limit was passed.
        var receivedBodyBytes = 0
        var status: Int?
        var stream: StreamChannel?
    }

    let connection: ConnectionHandle
    let startTime: ContinuousClock.Instant
    let method: String
    let path: String
    private let state = Mutex(State())

    init(connection: ConnectionHandle, method: String, path: String) {
        self.connection = connection
        self.startTime = .now
        self.method = method
        self.path = path
    }

    /// Adds a body chunk, keeping it only while the total stays within `limit` bytes.
    /// Returns false once the total has passed `limit`.
    func appendBody(_ chunk: UnsafeRawBufferPointer, limit: Int) -> Bool {
        state.withLock { state in
            state.receivedBodyBytes += chunk.count
            guard state.receivedBodyBytes <= limit else {
                state.body = Data()
                return false
            }
            state.body.append(contentsOf: chunk)
            return true
        }
    }

    var receivedBodyBytes: Int {
        state.withLock { $0.receivedBodyBytes }
    }

    var phase: Phase {
        state.withLock { $0.phase }
    }

    /// Suspends the connection, moves from receiving to handling and returns the body.
    ///
    /// The suspend happens under the lock that `resolve(with:)` takes, so no thread can resume the
    /// connection before it is suspended.
    func beginHandling() -> Data {
        state.withLock { state in
            connection.suspend()
            state.phase = .handling
            let body = state.body
            state.body = Data()
            return body
        }
    }

    /// Returns the received body for a handler that runs on the polling thread, which needs no suspend.
    func takeBody() -> Data {
        state.withLock { state in
            let body = state.body
            state.body = Data()
            return body
        }
    }

    /// Stores `response` and resumes the connection, if a handler is still running for this request.
    /// Both the handler thread and shutdown call this; only the first call wins, and only it resumes.
    @discardableResult
    func resolve(with response: HTTPResponse) -> Bool {
        let resolved = state.withLock { state in
            guard case .handling = state.phase else { return false }
            state.phase = .responseReady(response)
            return true
        }
        if resolved {
            connection.resume()
        }
        return resolved
    }

    /// Records that a response with `status` was queued, and the stream that feeds its body, if any.
    func markQueued(status: Int, stream: StreamChannel?) {
        state.withLock { state in
            state.phase = .queued
            state.status = status
            state.stream = stream
        }
    }

    var status: Int? {
        state.withLock { $0.status }
    }

    var stream: StreamChannel? {
        state.withLock { $0.stream }
    }
}
