import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One HTTP response: status, headers with lowercase names, and the body with any chunked encoding removed.
struct HTTPReply: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw TestFailure("cannot decode \(type) from the body '\(text.prefix(500))': \(error)")
        }
    }
}

/// A blocking HTTP/1.1 client for a server on 127.0.0.1: one connection per request, `Connection: close`, and the
/// bearer token on every request when there is one. Blocking on purpose, so a test can keep a request waiting on a
/// thread of its own.
struct LoopbackHTTPClient: Sendable {
    let port: UInt16
    let token: String?

    /// Sends one request and reads the whole response. Throws when the connection fails or `timeout` passes.
    func send(_ method: String, _ target: String, json: String? = nil, timeout: Duration = .seconds(120)) throws
        -> HTTPReply
    {
        let body = Data((json ?? "").utf8)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let token {
            head += "Authorization: Bearer \(token)\r\n"
        }
        if json != nil || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        let raw = try exchange(Data((head + "\r\n").utf8) + body, timeout: timeout)
        return try Self.parse(raw, request: "\(method) \(target)")
    }

    /// Sends a request, checks that the response has `status`, and decodes its JSON body.
    func decode<Value: Decodable>(
        _ type: Value.Type, _ method: String, _ target: String, json: String? = nil, expecting status: Int = 200,
        timeout: Duration = .seconds(120)
    ) throws -> Value {
        let reply = try send(method, target, json: json, timeout: timeout)
        guard reply.status == status else {
            throw TestFailure("\(method) \(target) returned \(reply.status), expected \(status): \(reply.text)")
        }
        return try reply.decode(type)
    }

    private func exchange(_ request: Data, timeout: Duration) throws -> Data {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }

        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            throw TestFailure("connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(errno)))")
        }

        try request.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let sent = Glibc.send(descriptor, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 && errno == EINTR { continue }
                guard sent > 0 else {
                    throw TestFailure("sending to 127.0.0.1:\(port) failed: \(String(cString: strerror(errno)))")
                }
                offset += sent
            }
        }

        var response = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                throw TestFailure("no complete response from 127.0.0.1:\(port) within \(timeout)")
            }
            guard count > 0 else { break }
            response.append(contentsOf: chunk[0..<count])
        }
        return response
    }

    static func parse(_ raw: Data, request: String) throws -> HTTPReply {
        guard let separator = raw.range(of: Data("\r\n\r\n".utf8)) else {
            throw TestFailure(
                "\(request): the response has no complete header: '\(String(decoding: raw, as: UTF8.self))'")
        }
        let headText = String(decoding: raw[..<separator.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestFailure("\(request): invalid status line in '\(headText)'")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = Data(raw[separator.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            body = try decodeChunked(body, request: request)
        }
        return HTTPReply(status: status, headers: headers, body: body)
    }

    private static func decodeChunked(_ encoded: Data, request: String) throws -> Data {
        var decoded = Data()
        var rest = encoded[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let sizeText = String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first
            guard let sizeText, let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw TestFailure("\(request): invalid chunk size line")
            }
            if size == 0 { return decoded }
            let start = lineEnd.upperBound
            guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else {
                throw TestFailure("\(request): truncated chunk of \(size) bytes")
            }
            let end = rest.index(start, offsetBy: size)
            decoded.append(rest[start..<end])
            rest = rest[rest.index(end, offsetBy: 2)...]
        }
        throw TestFailure("\(request): chunked body without its last chunk")
    }
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago, for programs that cannot listen on port 0 and print
/// the port they got.
func freeLoopbackPort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard descriptor >= 0 else { throw TestFailure("socket() failed: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
        }
    }
    guard bound else { throw TestFailure("binding 127.0.0.1:0 failed: \(String(cString: strerror(errno)))") }
    return UInt16(bigEndian: address.sin_port)
}
