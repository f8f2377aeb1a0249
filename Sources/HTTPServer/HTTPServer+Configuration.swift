extension HTTPServer {
    /// Limits and hooks of a server. The defaults suit a local control API.
    public struct Configuration: Sendable {
        /// Largest accepted request body in bytes. A larger declared `Content-Length` gets 413 before the
        /// body is read. A chunked body that grows past this size is read to its end and dropped, then gets
        /// 413, unless it passes the size by more than 16 MiB, which closes the connection.
        public var maximumBodyBytes: Int = 1024 * 1024
        /// Seconds a connection may stay idle (no bytes received or sent) before libmicrohttpd closes it.
        /// 0 disables the timeout. A connection waiting for its handler or stream producer does not time out.
        public var connectionTimeoutSeconds: Int = 30
        /// Number of libmicrohttpd polling threads. These move bytes and run only the handlers that
        /// `answersInline` selects.
        public var threadPoolSize: Int = 4
        /// Largest number of open connections, counting idle keep-alive and suspended ones.
        public var maximumConnections: Int = 256
        /// Largest number of handlers running at once; further complete requests wait in arrival order.
        /// Stream producers run on their own threads and do not count.
        public var maximumConcurrentHandlers: Int = 16
        /// Receives one line per finished request: a fixed message and metadata with the keys
        /// `http.method`, `http.path`, `http.status`, `http.duration_ms` and, when the request did not end
        /// normally, `http.termination`. It also receives failures the server handles itself. It is called on
        /// libmicrohttpd's threads, so it must return quickly.
        public var logger: (@Sendable (String, [String: String]) -> Void)?
        /// Selects requests, by method and path, whose handler runs on the polling thread that received them,
        /// without suspending the connection or waiting for a pool thread. That saves two thread switches per
        /// request, but a handler that blocks stalls every connection of its polling thread, so select only
        /// handlers that respond from memory. nil runs every handler on the pool.
        public var answersInline: (@Sendable (_ method: String, _ path: String) -> Bool)?

        /// Creates a configuration with the default values.
        public init() {}
    }
}

extension HTTPServer.Configuration {
    /// Throws ``HTTPServerError`` with code `invalidConfiguration` for the first value out of range.
    func validate() throws {
        try Self.check(maximumBodyBytes, in: 0...Int(Int32.max), name: "maximumBodyBytes")
        try Self.check(connectionTimeoutSeconds, in: 0...86_400, name: "connectionTimeoutSeconds")
        try Self.check(threadPoolSize, in: 1...256, name: "threadPoolSize")
        try Self.check(maximumConnections, in: 1...65_536, name: "maximumConnections")
        try Self.check(maximumConcurrentHandlers, in: 1...4096, name: "maximumConcurrentHandlers")
    }

    private static func check(_ value: Int, in range: ClosedRange<Int>, name: String) throws {
        guard range.contains(value) else {
            throw HTTPServerError(
                code: .invalidConfiguration,
                message: "Configuration value \(name) = \(value) is out of range; "
                    + "use a value from \(range.lowerBound) to \(range.upperBound).")
        }
    }
}
