import Foundation
import Synchronization

/// The state that libmicrohttpd's callbacks reach through their context pointer.
final class ServerContext: Sendable {
    private struct State {
        var activeRequests: [ObjectIdentifier: RequestContext] = [:]
        var isShuttingDown = false
        var isAbandoningRequests = false
    }

    let configuration: HTTPServer.Configuration
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let pool: HandlerPool
    private let state = Mutex(State())

    init(configuration: HTTPServer.Configuration, handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.configuration = configuration
        self.handler = handler
        self.pool = HandlerPool(maximumThreads: configuration.maximumConcurrentHandlers)
    }

    func log(_ message: String, _ metadata: [String: String]) {
        configuration.logger?(message, metadata)
    }

    /// Registers a request from its first callback until its request-completed callback.
    func register(_ request: RequestContext) {
        state.withLock { $0.activeRequests[ObjectIdentifier(request)] = request }
    }

    func unregister(_ request: RequestContext) {
        _ = state.withLock { $0.activeRequests.removeValue(forKey: ObjectIdentifier(request)) }
    }

    var activeRequestCount: Int {
        state.withLock { $0.activeRequests.count }
    }

    var isShuttingDown: Bool {
        state.withLock { $0.isShuttingDown }
    }

    func beginShutdown() {
        state.withLock { $0.isShuttingDown = true }
    }

    /// Ends every request still in flight: requests whose handler still runs get 503, and streams are
    /// cancelled. Afterwards no connection of this server stays suspended, which `MHD_stop_daemon` requires.
    func abandonActiveRequests() {
        let requests = state.withLock { state in
            state.isAbandoningRequests = true
            return Array(state.activeRequests.values)
        }
        for request in requests {
            request.resolve(with: ServerContext.shutdownResponse)
            request.stream?.cancel(resumeConnection: true)
        }
    }

    /// Suspends the connection of `request` and returns its body, or returns nil once shutdown has begun
    /// abandoning requests. Both happen under one lock, so every request that gets suspended is either
    /// seen by `abandonActiveRequests()` or resolved by its handler.
    func beginHandling(_ request: RequestContext) -> Data? {
        state.withLock { state in
            guard !state.isAbandoningRequests else { return nil }
            return request.beginHandling()
        }
    }

    /// Records that `request` queued a response. A stream queued after shutdown began abandoning requests
    /// is cancelled at once, so its content reader never suspends the connection.
    func markQueued(_ request: RequestContext, status: Int, stream: StreamChannel?) {
        state.withLock { state in
            if state.isAbandoningRequests {
                stream?.cancel(resumeConnection: false)
            }
            request.markQueued(status: status, stream: stream)
        }
    }

    /// The 503 for requests that arrive or are abandoned during shutdown; it closes the connection.
    static let shutdownResponse: HTTPResponse = {
        var response = HTTPResponse.layerError(
            status: 503, code: "service_unavailable",
            message: "The server is shutting down and accepts no new requests; retry once it runs again.")
        response.headers["Connection"] = "close"
        return response
    }()
}
