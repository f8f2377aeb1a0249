import Foundation
import HTTPServer
import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /instances/{id}/logs`: the serial console (default) or the hypervisor log as plain text, each serial line
/// with the host time it was read. `tail=N` keeps the last N lines; `follow=true` streams new lines until the client
/// disconnects, the instance is deleted, or it is no longer live and the file is read to its end.
enum LogStream {
    static func response(for request: HTTPRequest, reference: String, manager: InstanceManager) throws -> HTTPResponse {
        let unknown = Set(request.query.keys).subtracting(["tail", "follow", "source"]).sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest("unknown query parameter '\(unknown[0])'; allowed: follow, source, tail")
        }
        var tail: Int?
        if let text = request.query["tail"] {
            guard let value = Int(text), value >= 0, value <= 1_000_000 else {
                throw APIError.badRequest("invalid tail '\(text)'; give a line count from 0 to 1000000")
            }
            tail = value
        }
        let follow: Bool
        switch request.query["follow"] ?? "false" {
        case "true", "1": follow = true
        case "false", "0": follow = false
        case let other: throw APIError.badRequest("invalid follow '\(other)'; use true or false")
        }
        let status = try manager.status(reference)
        let paths = manager.store.paths(forID: status.id)
        let path: String
        switch request.query["source"] ?? "serial" {
        case "serial": path = paths.serialLog
        case "hypervisor": path = paths.hypervisorLog
        case let other: throw APIError.badRequest("invalid source '\(other)'; use serial or hypervisor")
        }

        let data = FileManager.default.contents(atPath: path) ?? Data()
        var text = data
        if let tail {
            var lines = data.split(separator: 0x0a, omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            text = Data(lines.suffix(tail).joined(separator: [0x0a]))
            if !text.isEmpty { text.append(0x0a) }
        }
        let headers = ["Content-Type": "text/plain; charset=utf-8"]
        guard follow else { return HTTPResponse(status: 200, headers: headers, body: .data(text)) }

        let id = status.id
        let initialText = text
        let initialOffset = data.count
        return HTTPResponse(
            status: 200, headers: headers,
            body: .stream { writer in
                guard writer.write(initialText) else { return }
                followFile(path: path, from: initialOffset, writer: writer) {
                    guard let current = try? manager.status(id), let state = current.metadata?.state else { return false }
                    return [.initializing, .running, .paused, .shutdown].contains(state)
                }
            })
    }

    /// Writes what is appended to `path` after `offset` until the client goes away or `isLive` turns false and
    /// nothing more arrives.
    private static func followFile(path: String, from offset: Int, writer: StreamWriter, isLive: () -> Bool) {
        var position = offset
        var quietRounds = 0
        while !writer.isCancelled {
            let chunk = read(path: path, from: &position)
            if !chunk.isEmpty {
                guard writer.write(chunk) else { return }
                quietRounds = 0
                continue
            }
            quietRounds += 1
            if quietRounds % 5 == 0, !isLive() { return }
            usleep(200_000)
        }
    }

    private static func read(path: String, from position: inout Int) -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
        defer { try? handle.close() }
        let size = Int((try? handle.seekToEnd()) ?? 0)
        if size < position { position = 0 }  // the log was rotated
        try? handle.seek(toOffset: UInt64(position))
        let data = (try? handle.readToEnd()) ?? Data()
        position += data.count
        return data
    }
}
