import Foundation
import Glibc
import Hypervisor

/// A QMP server on a Unix socket that accepts one client, sends a greeting, and replies to each request line with the
/// lines that `respond` returns for it. It replies to `qmp_capabilities` itself. A returned line `$CLOSE` closes the
/// connection, and `$ID` in a line is replaced by the request's id.
final class FakeQMPServer: Sendable {
    let socketPath: String
    private let listeningDescriptor: Int32

    init(socketPath: String, respond: @escaping @Sendable (JSONValue) -> [String]) throws {
        self.socketPath = socketPath
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0, listen(descriptor, 1) == 0 else {
            throw TestFailure("Cannot listen on \(socketPath): \(String(cString: strerror(errno)))")
        }
        listeningDescriptor = descriptor
        let thread = Thread {
            Self.serve(listeningDescriptor: descriptor, respond: respond)
        }
        thread.start()
    }

    private static func serve(listeningDescriptor: Int32, respond: @Sendable (JSONValue) -> [String]) {
        let client = accept(listeningDescriptor, nil, nil)
        close(listeningDescriptor)
        guard client >= 0 else { return }
        defer { close(client) }
        writeLine(
            #"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}"#,
            to: client)

        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Data(pending[..<newline])
                pending.removeSubrange(...newline)
                guard let request = try? JSONDecoder().decode(JSONValue.self, from: line) else { return }
                let id = request["id"]?.int ?? 0
                if request["execute"]?.string == "qmp_capabilities" {
                    writeLine(#"{"return": {}, "id": \#(id)}"#, to: client)
                    continue
                }
                for reply in respond(request) {
                    if reply == "$CLOSE" { return }
                    writeLine(reply.replacingOccurrences(of: "$ID", with: "\(id)"), to: client)
                }
            }
        }
    }

    private static func writeLine(_ line: String, to descriptor: Int32) {
        let bytes = Array((line + "\r\n").utf8)
        _ = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
