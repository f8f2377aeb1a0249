import CMicroHTTPD
import Foundation
import Glibc
import Synchronization

/// An HTTP/1.1 server on libmicrohttpd that runs a handler for each complete request.
///
/// libmicrohttpd's polling threads only move bytes. When a request's body is complete, the server suspends
/// the connection, runs the handler on a thread of its own pool and resumes the connection with the result,
/// so a slow handler delays no other request.
public final class HTTPServer: Sendable {
    private enum Lifecycle {
        case created
        case running(daemon: DaemonHandle, port: UInt16)
        case stopped
    }

    /// The host literal the server binds to.
    public let host: String
    /// The requested port. With 0 the kernel picks a free port, which ``boundPort`` returns.
    public let port: UInt16
    private let context: ServerContext
    private let lifecycle = Mutex(Lifecycle.created)

    /// Creates a server; nothing is bound until ``start()``.
    ///
    /// - Parameters:
    ///   - host: An IPv4 or IPv6 address literal such as `127.0.0.1` or `::1`; host names are not resolved.
    ///     The server binds to exactly this address, so `0.0.0.0` or `::` are needed to listen on all interfaces.
    ///   - port: The TCP port, or 0 for a free port chosen by the kernel.
    ///   - configuration: Limits and the logger.
    ///   - handler: Called once per complete request on a pool thread, never on libmicrohttpd's threads. It
    ///     may block; requests beyond `maximumConcurrentHandlers` wait for a free thread.
    public init(
        host: String, port: UInt16, configuration: Configuration = Configuration(),
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) {
        self.host = host
        self.port = port
        self.context = ServerContext(configuration: configuration, handler: handler)
    }

    deinit {
        shutdown(gracePeriod: .zero)
    }

    /// Binds the address and starts accepting connections.
    ///
    /// - Throws: ``HTTPServerError`` with one of these codes:
    ///   - `invalidConfiguration` for a configuration value out of range.
    ///   - `invalidHost` when `host` is not an address literal.
    ///   - `startFailed` when libmicrohttpd cannot bind or start, for example when the port is in use.
    ///   - `alreadyStarted` on a second call.
    public func start() throws {
        try context.configuration.validate()
        guard let address = SocketAddress(host: host, port: port) else {
            throw HTTPServerError(
                code: .invalidHost,
                message: "Host '\(host)' is not an IPv4 or IPv6 address literal; pass an address such as "
                    + "127.0.0.1 or ::1.")
        }
        try lifecycle.withLock { lifecycle in
            guard case .created = lifecycle else {
                throw HTTPServerError(
                    code: .alreadyStarted,
                    message: "The server for \(host) port \(port) was already started; create a new HTTPServer.")
            }
            let daemon = try startDaemon(address: address)
            lifecycle = .running(daemon: daemon, port: stint_mhd_bound_port(daemon.pointer))
        }
    }

    /// The port the server listens on, or 0 before ``start()`` and after ``shutdown(gracePeriod:)``.
    public var boundPort: UInt16 {
        lifecycle.withLock { lifecycle in
            guard case .running(_, let port) = lifecycle else { return 0 }
            return port
        }
    }

    /// Stops the server, letting requests in flight finish for up to `gracePeriod`.
    ///
    /// The listening socket stops accepting at once, and requests that arrive on open keep-alive
    /// connections get 503. When the grace period ends, handlers still running have their result dropped
    /// and their clients get 503, and streams are cancelled. Up to one more second later, all connections
    /// are closed, including uploads still in progress. Handler and stream threads keep running until their
    /// closures return. Blocks until the daemon has stopped; calling it again, or before ``start()``, does
    /// nothing.
    public func shutdown(gracePeriod: Duration) {
        let daemon: DaemonHandle? = lifecycle.withLock { lifecycle in
            guard case .running(let daemon, _) = lifecycle else {
                lifecycle = .stopped
                return nil
            }
            lifecycle = .stopped
            return daemon
        }
        guard let daemon else { return }

        context.beginShutdown()
        let listenSocket = MHD_quiesce_daemon(daemon.pointer)
        waitForActiveRequests(until: ContinuousClock.now + gracePeriod)
        context.abandonActiveRequests()
        // Gives libmicrohttpd's threads time to send the 503 responses and end the cancelled streams.
        waitForActiveRequests(until: ContinuousClock.now + Self.abandonedRequestDrainTime)
        MHD_stop_daemon(daemon.pointer)
        if listenSocket != MHD_INVALID_SOCKET {
            close(listenSocket)
        }
        Unmanaged.passUnretained(context).release()
    }

    /// Time that shutdown gives abandoned requests to send their 503 before the daemon closes all connections.
    private static let abandonedRequestDrainTime = Duration.seconds(1)

    private func waitForActiveRequests(until deadline: ContinuousClock.Instant) {
        while context.activeRequestCount > 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    private func startDaemon(address: SocketAddress) throws -> DaemonHandle {
        let configuration = context.configuration
        var flags =
            MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
            | MHD_USE_AUTO.rawValue
        if address.isIPv6 {
            flags |= MHD_USE_IPv6.rawValue
        }
        // The daemon holds a reference to the context until shutdown releases it.
        let contextPointer = Unmanaged.passRetained(context).toOpaque()
        let daemon = address.withSockaddrPointer { sockaddrPointer in
            stint_mhd_start_daemon(
                UInt32(flags), sockaddrPointer, UInt32(configuration.threadPoolSize),
                UInt32(configuration.connectionTimeoutSeconds), UInt32(configuration.maximumConnections),
                handleAccess, contextPointer, completeRequest, contextPointer, keepEscapedText, nil)
        }
        guard let daemon else {
            let reason = String(cString: strerror(errno))
            Unmanaged<ServerContext>.fromOpaque(contextPointer).release()
            throw HTTPServerError(
                code: .startFailed,
                message: "libmicrohttpd could not listen on \(host) port \(port) (\(reason)); "
                    + "choose a free port or an address of this host.")
        }
        return DaemonHandle(pointer: daemon)
    }
}

/// A libmicrohttpd daemon pointer. `@unchecked Sendable` is safe because `HTTPServer` calls the daemon
/// functions only from application threads, never from libmicrohttpd's own, and calls `MHD_quiesce_daemon`
/// and `MHD_stop_daemon` once, after taking the handle out of its lifecycle lock.
private struct DaemonHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}
