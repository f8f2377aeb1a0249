import Foundation
import Instances

/// Sends API requests to a server on `127.0.0.1`, one connection per request, with the bearer token.
struct APIClient: Sendable {
    let port: UInt16
    let token: String

    /// Sends one request and reads its response. `body` is sent as is; `json` is serialized first.
    func send(
        _ method: String, _ target: String, body: Data? = nil, json: Any? = nil, authorized: Bool = true,
        timeout: Duration = .seconds(120)
    ) throws -> WireResponse {
        var payload = body ?? Data()
        if let json {
            payload = try JSONSerialization.data(withJSONObject: json)
        }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if authorized {
            head += "Authorization: Bearer \(token)\r\n"
        }
        if !payload.isEmpty || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(payload.count)\r\n"
        }
        let connection = try WireConnection(port: port)
        try connection.send(Data((head + "\r\n").utf8) + payload)
        return try connection.readResponse(timeout: timeout)
    }

    /// Sends a request that must succeed with `status` and decodes the instance in its body.
    func instance(
        _ method: String, _ target: String, json: Any? = nil, expecting status: Int = 200,
        timeout: Duration = .seconds(120)
    ) throws -> InstanceView {
        let response = try send(method, target, json: json, timeout: timeout)
        guard response.status == status else {
            throw TestFailure("\(method) \(target) returned \(response.status), expected \(status): \(response.text)")
        }
        return try response.decode(InstanceView.self)
    }

    /// `GET /instances`, which must succeed.
    func list() throws -> [InstanceView] {
        let response = try send("GET", "/instances")
        guard response.status == 200 else {
            throw TestFailure("GET /instances returned \(response.status): \(response.text)")
        }
        return try response.decode([InstanceView].self)
    }

    /// Deletes every instance the server lists; used by cleanup so no guest outlives a test.
    func deleteAll() {
        for instance in (try? list()) ?? [] {
            _ = try? send("DELETE", "/instances/\(instance.id)")
        }
    }
}
