import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One TCP connection to `127.0.0.1`, with blocking reads and writes and a deadline on every read.
///
/// Tests use it to send exactly the bytes they choose (garbage, slow headers, oversized bodies) and to read
/// responses, including chunked streams, as they arrive.
final class WireConnection {
    let descriptor: Int32
    private(set) var isClosed = false
    /// The raw bytes of the response that `readStream` reads, kept between calls.
    private var streamBuffer = Data()

    /// Connects to `127.0.0.1:port`. Throws when the connection is refused or does not complete in 5 seconds.
    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        setTimeout(SO_SNDTIMEO, .seconds(5))
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw TestFailure("connect to 127.0.0.1:\(port) failed: \(reason)")
        }
    }

    deinit {
        close()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
    }

    /// Sends all of `data`. Throws when the peer has closed or reset the connection, or a write blocks for
    /// more than 5 seconds.
    func send(_ data: Data) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.send(descriptor, base + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw TestFailure("send failed after \(offset) bytes: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    func send(_ text: String) throws {
        try send(Data(text.utf8))
    }

    /// Receives what has arrived, waiting until `deadline` for at least one byte. Returns empty data at the end
    /// of the stream and throws when the deadline passes or the connection was reset.
    func receive(until deadline: ContinuousClock.Instant) throws -> Data {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw TestFailure("timed out waiting for data from the server") }
            setTimeout(SO_RCVTIMEO, remaining)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count >= 0 { return Data(buffer[0..<count]) }
            if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
            throw TestFailure("recv failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads one complete response (headers plus a `Content-Length`, chunked, or read-to-close body).
    func readResponse(timeout: Duration = .seconds(60)) throws -> WireResponse {
        let deadline = ContinuousClock.now + timeout
        var buffer = Data()
        while true {
            if let response = try WireResponse.parse(buffer, complete: false) { return response }
            let chunk = try receive(until: deadline)
            if chunk.isEmpty {
                guard let response = try WireResponse.parse(buffer, complete: true) else {
                    throw TestFailure(
                        "the server closed the connection after \(buffer.count) bytes without a complete response: "
                            + String(decoding: buffer.prefix(200), as: UTF8.self))
                }
                return response
            }
            buffer.append(chunk)
        }
    }

    /// Reads a response whose body is still streaming, until the decoded body satisfies `condition`, the stream
    /// ends, or `timeout` passes. Returns the status and the whole body decoded so far and whether the stream
    /// ended. Later calls continue the same response.
    func readStream(timeout: Duration, until condition: (String) -> Bool) throws -> (
        response: WireResponse, ended: Bool
    ) {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let partial = try WireResponse.parse(streamBuffer, complete: false, allowPartialBody: true) {
                if partial.isComplete || condition(partial.text) { return (partial, partial.isComplete) }
            }
            guard ContinuousClock.now < deadline else {
                throw TestFailure(
                    "timed out reading a stream; received so far: "
                        + String(decoding: streamBuffer.suffix(400), as: UTF8.self))
            }
            let chunk = try receive(until: deadline)
            if chunk.isEmpty {
                guard let response = try WireResponse.parse(streamBuffer, complete: true, allowPartialBody: true) else {
                    throw TestFailure("the server closed a stream before its headers were complete")
                }
                return (response, true)
            }
            streamBuffer.append(chunk)
        }
    }

    private func setTimeout(_ option: Int32, _ duration: Duration) {
        let microseconds = max(
            1, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}
