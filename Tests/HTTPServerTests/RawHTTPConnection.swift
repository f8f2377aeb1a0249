import Foundation
import Glibc

/// A blocking TCP client for tests that need control over every byte sent to the server.
/// `@unchecked Sendable` because a test may hand a connection to another thread; each test uses a
/// connection from one thread at a time.
final class RawHTTPConnection: @unchecked Sendable {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let descriptor: Int32
    private var received = Data()

    /// Connects to 127.0.0.1:`port`; reads time out after `receiveTimeout` seconds.
    init(port: UInt16, receiveTimeout: Int = 10) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    deinit {
        close(descriptor)
    }

    /// Sends all of `data`; returns false when the peer closed the connection.
    @discardableResult
    func send(_ data: Data) -> Bool {
        data.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return true }
            var offset = 0
            while offset < bytes.count {
                let sent = Glibc.send(descriptor, base + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 && errno == EINTR { continue }
                if sent <= 0 { return false }
                offset += sent
            }
            return true
        }
    }

    @discardableResult
    func send(_ text: String) -> Bool {
        send(Data(text.utf8))
    }

    /// Reads more bytes into the receive buffer; returns false at end of stream, on error or on timeout.
    private func receiveMore() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            received.append(contentsOf: buffer[0..<count])
            return true
        }
    }

    /// Reads until the received bytes contain `marker`; returns false when the stream ends first.
    func receive(until marker: String) -> Bool {
        let pattern = Data(marker.utf8)
        while received.range(of: pattern) == nil {
            guard receiveMore() else { return false }
        }
        return true
    }

    /// Reads until the server closes the connection or the read times out; returns everything received.
    func receiveAll() -> Data {
        while receiveMore() {}
        return received
    }

    /// Reads one complete response (Content-Length or chunked body) and removes it from the buffer.
    func readResponse() throws -> Response {
        guard receive(until: "\r\n\r\n"), let headerEnd = received.range(of: Data("\r\n\r\n".utf8)) else {
            throw Failure(description: "no response head; received \(received.count) bytes")
        }
        let head = String(decoding: received[received.startIndex..<headerEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "invalid status line in '\(head)'")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        received = Data(received[headerEnd.upperBound...])

        var body = Data()
        if let length = headers["content-length"].flatMap(Int.init) {
            while received.count < length {
                guard receiveMore() else { throw Failure(description: "body shorter than \(length) bytes") }
            }
            body = Data(received.prefix(length))
            received = Data(received.dropFirst(length))
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            body = try readChunkedBody()
        } else {
            body = receiveAll()
            received = Data()
        }
        return Response(status: status, headers: headers, body: body)
    }

    private func readChunkedBody() throws -> Data {
        var body = Data()
        while true {
            guard receive(until: "\r\n"), let lineEnd = received.range(of: Data("\r\n".utf8)) else {
                throw Failure(description: "chunk size line missing")
            }
            let sizeText = String(decoding: received[received.startIndex..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else {
                throw Failure(description: "invalid chunk size '\(sizeText)'")
            }
            received = Data(received[lineEnd.upperBound...])
            while received.count < size + 2 {
                guard receiveMore() else { throw Failure(description: "chunk shorter than \(size) bytes") }
            }
            if size == 0 {
                received = Data(received.dropFirst(2))
                return body
            }
            body.append(received.prefix(size))
            received = Data(received.dropFirst(size + 2))
        }
    }

    /// Sends a request with `Connection: close` and reads its response.
    static func request(
        port: UInt16, method: String = "GET", target: String, headers: [String: String] = [:], body: Data = Data()
    ) throws -> Response {
        let connection = try RawHTTPConnection(port: port)
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers {
            head += "\(name): \(value)\r\n"
        }
        if !body.isEmpty {
            head += "Content-Length: \(body.count)\r\n"
        }
        connection.send(head + "\r\n")
        connection.send(body)
        return try connection.readResponse()
    }
}
