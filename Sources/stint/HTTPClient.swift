import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal HTTP/1.1 client over TCP for talking to `stint serve`: one request per connection, `Content-Length` and
/// chunked bodies, and streaming of the body to a callback.
///
/// NOTE: plain http:// only; put a TLS-terminating proxy in front of the server to reach it across a network.
struct HTTPClient {
    let host: String
    let port: UInt16
    let token: String?

    struct Response {
        var status: Int
        var body: Data
    }

    /// Parses `http://HOST:PORT` (an IPv4 literal, `[IPv6]` or a host name) into a client.
    init(url: String, token: String?) throws {
        let invalid = CLIError.usage("invalid --host '\(url)': use http://ADDRESS:PORT, e.g. http://127.0.0.1:8780")
        guard url.hasPrefix("http://") else { throw invalid }
        var rest = String(url.dropFirst(7))
        if rest.hasSuffix("/") { rest.removeLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]) else {
            throw invalid
        }
        var host = String(rest[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid }
        self.host = host
        self.port = port
        self.token = token
    }

    /// Sends a request and returns the whole response.
    func send(_ method: String, _ path: String, body: Data? = nil) throws -> Response {
        var collected = Data()
        let status = try stream(method, path, body: body) { chunk in
            collected.append(chunk)
            return true
        }
        return Response(status: status, body: collected)
    }

    /// Sends a request and passes the body to `output` as it arrives, until the body ends or `output` returns false.
    /// Returns the status code.
    func stream(_ method: String, _ path: String, body: Data?, output: (Data) -> Bool) throws -> Int {
        let socket = try connect()
        defer { close(socket) }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        } else if method == "POST" || method == "DELETE" {
            head += "Content-Length: 0\r\n"
        }
        var request = Data((head + "\r\n").utf8)
        if let body { request.append(body) }
        try sendAll(request, to: socket)

        var reader = SocketReader(socket: socket)
        let statusLine = try reader.line()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw CLIError.failure("invalid response from \(host):\(port): '\(statusLine.prefix(80))'")
        }
        var headers: [String: String] = [:]
        while true {
            let line = try reader.line()
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                    in: .whitespaces)
            }
        }

        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try reader.line()
                guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
                    throw CLIError.failure("invalid chunk size '\(sizeLine.prefix(20))' from \(host):\(port)")
                }
                if size == 0 { break }
                let chunk = try reader.bytes(size)
                _ = try reader.line()
                guard output(chunk) else { break }
            }
        } else if let length = headers["content-length"].flatMap(Int.init) {
            if length > 0 { _ = output(try reader.bytes(length)) }
        } else {
            while let chunk = try reader.available() {
                guard output(chunk) else { break }
            }
        }
        return status
    }

    private func connect() throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw CLIError.failure("cannot resolve server host '\(host)'; check --host or STINT_HOST")
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        var lastError = ECONNREFUSED
        while let current = entry {
            let socket = Glibc.socket(current.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            if socket >= 0 {
                if Glibc.connect(socket, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0 {
                    return socket
                }
                lastError = errno
                close(socket)
            }
            entry = current.pointee.ai_next
        }
        throw CLIError.failure(
            "cannot connect to the Stint server at \(host):\(port): \(String(cString: strerror(lastError))); is 'stint serve' running?"
        )
    }

    private func sendAll(_ data: Data, to socket: Int32) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(socket, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw CLIError.failure("sending to \(host):\(port) failed: \(String(cString: strerror(errno)))")
                }
                offset += sent
            }
        }
    }
}

/// Buffered reads from a socket: lines ending in CRLF and exact byte counts.
private struct SocketReader {
    let socket: Int32
    var buffer = Data()

    init(socket: Int32) {
        self.socket = socket
    }

    mutating func line() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0a) {
                var line = buffer[buffer.startIndex..<newline]
                if line.last == 0x0d { line = line.dropLast() }
                buffer = Data(buffer[(newline + 1)...])
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw CLIError.failure("the server closed the connection mid-response") }
        }
    }

    mutating func bytes(_ count: Int) throws -> Data {
        while buffer.count < count {
            guard try fill() else { throw CLIError.failure("the server closed the connection mid-response") }
        }
        let result = Data(buffer.prefix(count))
        buffer = Data(buffer.dropFirst(count))
        return result
    }

    /// Returns buffered or newly read bytes, or nil at the end of the stream.
    mutating func available() throws -> Data? {
        if buffer.isEmpty, try !fill() { return nil }
        defer { buffer = Data() }
        return buffer
    }

    private mutating func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &chunk, chunk.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw CLIError.failure("reading from the server failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }
}
