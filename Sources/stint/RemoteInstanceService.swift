import Foundation
import Instances
import PhaseTracking

/// The service over a `stint serve` API: the same commands, the same views, over HTTP.
struct RemoteInstanceService: InstanceService {
    let client: HTTPClient

    func create(_ request: CreateRequest, waitFor: Phase?, timeout: Duration) throws -> InstanceView {
        var body: [String: Any] = [
            "name": request.name, "command": request.command, "memory_mib": request.memoryMiB, "vcpus": request.vcpus,
            "wait_timeout_seconds": seconds(timeout),
        ]
        if let waitFor { body["wait_for"] = waitFor.rawValue }
        return try decode(InstanceView.self, try call("POST", "/instances", body: body))
    }

    func list() throws -> [InstanceView] {
        try decode([InstanceView].self, try call("GET", "/instances"))
    }

    func inspect(_ reference: String) throws -> InstanceView {
        try decode(InstanceView.self, try call("GET", path(reference)))
    }

    func start(_ reference: String, waitFor: Phase?, timeout: Duration) throws -> InstanceView {
        let started = try decode(InstanceView.self, try call("POST", path(reference, "start")))
        guard let waitFor else { return started }
        let deadline = ContinuousClock.now + timeout
        while true {
            // The API's wait endpoint takes at most 300 seconds per request.
            let remaining = max(0, min(300, seconds(deadline - ContinuousClock.now)))
            let state = waitFor == .running ? "Running" : "Initializing"
            let data = try call("GET", path(started.id, "wait") + "?state=\(state)&timeout=\(remaining)")
            let response = try decode(WaitResult.self, data)
            if response.reached || (waitFor == .initializing && response.instance.state == "Running") {
                return response.instance
            }
            if ["Stopped", "Standby", "Created", "Unknown"].contains(response.instance.state) {
                throw CLIError.failure(
                    "instance '\(response.instance.name ?? reference)' reached \(response.instance.state.lowercased()) while waiting for \(waitFor.rawValue); see 'stint logs \(response.instance.name ?? reference)'"
                )
            }
            guard ContinuousClock.now < deadline else {
                throw CLIError.failure(
                    "timed out after \(timeout) waiting for instance '\(reference)' to reach \(waitFor.rawValue); it is \(response.instance.state)"
                )
            }
        }
    }

    func stop(_ reference: String, timeout: Duration) throws -> InstanceView {
        try decode(
            InstanceView.self, try call("POST", path(reference, "stop"), body: ["timeout_seconds": seconds(timeout)]))
    }

    func perform(_ operation: SimpleOperation, on reference: String) throws -> InstanceView {
        try decode(InstanceView.self, try call("POST", path(reference, operation.rawValue)))
    }

    func fork(_ reference: String, name: String, target: ForkTarget?) throws -> InstanceView {
        var body: [String: Any] = ["name": name, "from_running": true]
        if let target { body["target_state"] = target.rawValue }
        return try decode(InstanceView.self, try call("POST", path(reference, "fork"), body: body))
    }

    func delete(_ reference: String, force: Bool) throws {
        if !force {
            // The API always ends a live guest; without --force the CLI refuses, as it does on the data directory.
            let view = try inspect(reference)
            if ["Initializing", "Running", "Paused", "Shutdown"].contains(view.state) {
                throw CLIError.failure(
                    "instance '\(view.name ?? reference)' is \(view.state.lowercased()); stop it first or delete with --force"
                )
            }
        }
        _ = try call("DELETE", path(reference))
    }

    func logs(_ reference: String, tail: Int?, follow: Bool, hypervisor: Bool, output: (String) -> Void) throws {
        var query = ["source=\(hypervisor ? "hypervisor" : "serial")", "follow=\(follow)"]
        if let tail { query.append("tail=\(tail)") }
        var errorBody = Data()
        var status = 0
        status = try client.stream("GET", path(reference, "logs") + "?" + query.joined(separator: "&"), body: nil) {
            chunk in
            if status == 0 || status == 200 {
                output(String(decoding: chunk, as: UTF8.self))
            } else {
                errorBody.append(chunk)
            }
            return true
        }
        _ = try check(status: status, body: errorBody)
    }

    func usage(from: Int64, to: Int64, instance: String?, grouping: UsageReport.Grouping) throws -> [UsageReport.Row] {
        var query = [
            "from=" + RFC3339.format(nanosecondsSinceEpoch: from), "to=" + RFC3339.format(nanosecondsSinceEpoch: to),
            "group_by=" + grouping.rawValue,
        ]
        if let instance { query.append("instance=" + encode(instance)) }
        return try decode(UsageRows.self, try call("GET", "/usage?" + query.joined(separator: "&"))).rows
    }

    func transitions(of reference: String, afterSequence: Int, wait: Duration) throws -> [JournalEntry] {
        let seconds = min(60, seconds(wait))
        let data = try call(
            "GET", path(reference, "transitions") + "?after=\(afterSequence)&limit=1000&wait=\(seconds)")
        return try decode(TransitionRows.self, data).transitions
    }

    // MARK: - Helpers

    private func call(_ method: String, _ path: String, body: [String: Any]? = nil) throws -> Data {
        let data = try body.map { try JSONSerialization.data(withJSONObject: $0) }
        let response = try client.send(method, path, body: data)
        return try check(status: response.status, body: response.body)
    }

    /// Returns the body of a successful response, or throws the API's error with the CLI's exit code.
    private func check(status: Int, body: Data) throws -> Data {
        guard status >= 300 else { return body }
        struct ErrorBody: Decodable {
            var code: String
            var message: String
        }
        guard let error = try? JSONDecoder().decode(ErrorBody.self, from: body) else {
            throw CLIError.failure(
                "the server responded \(status): \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if error.code == "unauthorized" {
            throw CLIError.failure("the server rejected the token (401); pass --token or set STINT_API_TOKEN")
        }
        throw CLIError(exitCode: error.code == "invalid_argument" ? 64 : 1, description: error.message)
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ data: Data) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw CLIError.failure("invalid response from the server: \(error)")
        }
    }

    private func path(_ reference: String, _ action: String? = nil) -> String {
        "/instances/\(encode(reference))" + (action.map { "/" + $0 } ?? "")
    }

    /// Percent-encodes everything but unreserved characters, so a reference is one path segment or query value.
    private func encode(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The part of the usage response the CLI reads.
private struct UsageRows: Decodable {
    var rows: [UsageReport.Row]
}

/// The part of the transitions response the CLI reads.
private struct TransitionRows: Decodable {
    var transitions: [JournalEntry]
}

/// The response of the wait endpoint.
private struct WaitResult: Decodable {
    var reached: Bool
    var instance: InstanceView
}
