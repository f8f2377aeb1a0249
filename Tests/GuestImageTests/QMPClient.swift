import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A minimal QMP client for tests: connects to QEMU's Unix socket and runs commands one at a time.
final class QMPClient {
    private let descriptor: Int32
    private var buffer = Data()

    init(socketPath: String, timeout: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError = ""
        while true {
            let socketDescriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard socketDescriptor >= 0 else {
                throw TestFailure("socket() failed: \(String(cString: strerror(errno)))")
            }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in socketPath.utf8.enumerated() where index < raw.count - 1 {
                    raw[index] = byte
                }
            }
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 {
                descriptor = socketDescriptor
                break
            }
            lastError = String(cString: strerror(errno))
            close(socketDescriptor)
            guard Date() < deadline else {
                throw TestFailure("could not connect to QMP socket \(socketPath): \(lastError)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        var receiveTimeout = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, socklen_t(MemoryLayout<timeval>.size))

        let greeting = try readMessage()
        guard greeting["QMP"] != nil else {
            throw TestFailure("unexpected QMP greeting: \(greeting)")
        }
        _ = try execute("qmp_capabilities")
    }

    deinit {
        close(descriptor)
    }

    /// Sends `{"execute": command}` and returns the reply, skipping events that arrive before it.
    func execute(_ command: String) throws -> [String: Any] {
        let request = Data("{\"execute\":\"\(command)\"}\n".utf8)
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            throw TestFailure("could not send QMP command \(command): \(String(cString: strerror(errno)))")
        }
        while true {
            let message = try readMessage()
            if message["return"] != nil || message["error"] != nil {
                return message
            }
        }
    }

    private func readMessage() throws -> [String: Any] {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = buffer[buffer.startIndex..<newline]
                buffer = Data(buffer[(newline + 1)...])
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    throw TestFailure(
                        "QMP sent a line that is not a JSON object: \(String(decoding: line, as: UTF8.self))")
                }
                return object
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            guard count > 0 else {
                throw TestFailure(
                    "QMP connection closed or timed out: \(count < 0 ? String(cString: strerror(errno)) : "end of file")"
                )
            }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}
