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
        try request.requireQuery(allowed: ["tail", "follow", "source"])
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
        let source: LogSource
        switch request.query["source"] ?? "serial" {
        case "serial": source = .serial
        case "hypervisor": source = .hypervisor
        case let other: throw APIError.badRequest("invalid source '\(other)'; use serial or hypervisor")
        }
        let excerpt = try manager.readLog(reference, source: source, tail: tail)
        let headers = ["Content-Type": "text/plain; charset=utf-8"]
        guard follow else { return HTTPResponse(status: 200, headers: headers, body: .data(excerpt.text)) }

        return HTTPResponse(
            status: 200, headers: headers,
            body: .stream { writer in
                guard writer.write(excerpt.text) else { return }
                manager.followLog(after: excerpt) { chunk in
                    chunk.isEmpty ? !writer.isCancelled : writer.write(chunk)
                }
            })
    }
}
