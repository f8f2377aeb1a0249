import Foundation
import HTTPServer
import Instances
import PhaseTracking

/// The HTTP/JSON API over an `InstanceManager`: routing, authentication, bodies and errors.
public final class InstanceAPI: Sendable {
    let manager: InstanceManager
    let token: String
    let log: Logger
    let operations = OperationMetrics()
    let listCache: InstanceListCache

    public init(manager: InstanceManager, token: String, log: Logger) {
        self.manager = manager
        self.token = token
        self.log = log
        listCache = InstanceListCache(manager: manager) { try JSONEncoder.api.encode($0) }
    }

    /// Selects the requests that never wait for an operation or a file lock, so the HTTP server may respond to them on
    /// its polling threads: the health check and the instance list, which comes from the list cache.
    // NOTE: listing repairs an instance whose monitor died without a record (SIGKILL of its QEMU, then a wait that
    // takes milliseconds and at most 10 s). That rare repair stalls the connections of one polling thread.
    public static func answersInline(method: String, path: String) -> Bool {
        method == "GET" && (path == "/instances" || path == "/health")
    }

    /// Handles one request and logs one line for it (method, path, status, duration, instance). Runs on the HTTP
    /// server's handler threads and may block for as long as the operation.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let start = ContinuousClock.now
        let response = respond(to: request)
        var fields = [
            "http.method": request.method, "http.path": request.path, "http.status": String(response.status),
            "http.duration_ms": milliseconds(since: start),
        ]
        let segments = (try? request.pathSegments()) ?? []
        if segments.count >= 2, segments[0] == "instances" {
            fields["instance"] = segments[1]
        }
        log.info("request finished", fields)
        return response
    }

    private func respond(to request: HTTPRequest) -> HTTPResponse {
        do {
            let segments: [String]
            do {
                segments = try request.pathSegments()
            } catch {
                throw APIError.notFound("no route for path '\(request.path)'")
            }
            try request.rejectRepeatedQuery()
            if segments == ["health"] {
                try requireMethod(request, ["GET"])
                return try json(200, ["status": "ok"])
            }
            guard isAuthorized(request) else { throw APIError.unauthorized }
            return try route(request, segments)
        } catch {
            let apiError = APIError.from(error)
            if apiError.status >= 500 {
                log.error("request failed", ["http.path": request.path, "error": apiError.message])
            }
            return apiError.response
        }
    }

    /// Accepts `Authorization: Bearer TOKEN`. The scheme name is case-insensitive and may be followed by more
    /// than one space (RFC 9110, sections 11.1 and 11.4).
    private func isAuthorized(_ request: HTTPRequest) -> Bool {
        guard let header = request.headers["authorization"], let space = header.firstIndex(of: " "),
            header[..<space].lowercased() == "bearer"
        else { return false }
        let credentials = header[space...].drop { $0 == " " }
        return APIToken.matches(String(credentials), token)
    }

    private func route(_ request: HTTPRequest, _ segments: [String]) throws -> HTTPResponse {
        switch segments.count {
        case 1 where segments[0] == "openapi.json":
            try requireMethod(request, ["GET"])
            return HTTPResponse(
                status: 200, headers: ["Content-Type": "application/json"], body: .data(Data(OpenAPIDocument.json.utf8))
            )
        case 1 where segments[0] == "metrics":
            try requireMethod(request, ["GET"])
            let text = try PrometheusText.render(manager: manager, operations: operations)
            return HTTPResponse(
                status: 200, headers: ["Content-Type": PrometheusText.contentType], body: .data(Data(text.utf8)))
        case 1 where segments[0] == "usage":
            try requireMethod(request, ["GET"])
            return try usage(request)
        case 1 where segments[0] == "transitions":
            try requireMethod(request, ["GET"])
            return try allTransitions(request)
        case 1 where segments[0] == "instances":
            switch try requireMethod(request, ["GET", "POST"]) {
            case "GET": return try listInstances(request)
            default: return try createInstance(request)
            }
        case 2 where segments[0] == "instances":
            switch try requireMethod(request, ["GET", "DELETE"]) {
            case "GET": return try json(200, InstanceView(manager.status(segments[1])))
            default:
                try timed("delete", segments[1]) { try manager.delete(segments[1], force: true) }
                return HTTPResponse(status: 204)
            }
        case 3 where segments[0] == "instances":
            return try instanceAction(request, reference: segments[1], action: segments[2])
        default:
            throw APIError.notFound("no route for path '\(request.path)'")
        }
    }

    private func instanceAction(_ request: HTTPRequest, reference: String, action: String) throws -> HTTPResponse {
        switch action {
        case "logs":
            try requireMethod(request, ["GET"])
            return try LogStream.response(for: request, reference: reference, manager: manager)
        case "wait":
            try requireMethod(request, ["GET"])
            return try waitForState(request, reference: reference)
        case "transitions":
            try requireMethod(request, ["GET"])
            return try instanceTransitions(request, reference: reference)
        case "start", "stop", "pause", "resume", "standby", "restore", "fork":
            try requireMethod(request, ["POST"])
        default:
            throw APIError.notFound("no route for path '\(request.path)'")
        }
        if action != "stop" && action != "fork" {
            try requireEmptyBody(request)
        }
        let status: InstanceStatus = try timed(action, reference) {
            switch action {
            case "start": return try manager.start(reference)
            case "stop":
                let body = try RequestBodyDecoder.decode(
                    StopInstanceBody.self, from: request.body, allowedFields: StopInstanceBody.fields, allowEmpty: true)
                return try manager.stop(
                    reference, timeout: try seconds(body?.timeoutSeconds, default: 10, name: "timeout_seconds"))
            case "pause": return try manager.pause(reference)
            case "resume": return try manager.resume(reference)
            case "standby": return try manager.standby(reference)
            case "restore": return try manager.restore(reference)
            default: return try fork(request, reference: reference)
            }
        }
        return try json(action == "fork" ? 201 : 200, InstanceView(status))
    }

    private func listInstances(_ request: HTTPRequest) throws -> HTTPResponse {
        try request.requireQuery(allowed: ["state"])
        var requested: InstanceState?
        if let state = request.query["state"] {
            guard let match = InstanceState.allCases.first(where: { $0.rawValue.lowercased() == state.lowercased() })
            else {
                throw APIError.badRequest(
                    "invalid state '\(state)'; use one of \(InstanceState.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            requested = match
        }
        return HTTPResponse(
            status: 200, headers: ["Content-Type": "application/json"], body: .bytes(listCache.body(state: requested)))
    }

    private func createInstance(_ request: HTTPRequest) throws -> HTTPResponse {
        guard
            let body = try RequestBodyDecoder.decode(
                CreateInstanceBody.self, from: request.body, allowedFields: CreateInstanceBody.fields,
                integerFields: CreateInstanceBody.integerFields)
        else { throw APIError.badRequest("missing JSON body") }
        let waitPhase: Phase?
        switch body.waitFor {
        case nil: waitPhase = nil
        case "initializing": waitPhase = .initializing
        case "running": waitPhase = .running
        case let other?:
            throw APIError.badRequest("invalid wait_for '\(other)'; use initializing or running")
        }
        let timeout = try seconds(body.waitTimeoutSeconds, default: 120, name: "wait_timeout_seconds")
        let createRequest = CreateRequest(
            name: body.name ?? InstanceIdentity.generateName(), command: body.command, memoryMiB: body.memoryMiB ?? 256,
            vcpus: body.vcpus ?? 1)
        do {
            try createRequest.validate()
        } catch let error as InstancesError {
            throw error
        } catch {
            // The guest image layer rejects a command that the kernel command line cannot carry, such as one with a
            // NUL byte or one that is too long. That is invalid input, not a server failure.
            throw APIError.badRequest("invalid command: \(error)")
        }
        let status: InstanceStatus = try timed("create", createRequest.name) {
            let created = try manager.create(createRequest)
            let started = try manager.start(created.id)
            guard let waitPhase else { return started }
            do {
                return try manager.wait(for: created.id, phase: waitPhase, timeout: timeout)
            } catch let error as InstancesError where error.code == .failed {
                // The instance exists and its guest was started, so the client gets 201 and the id of what it now
                // pays for. `current_phase` shows that the wait ran out or the guest stopped early.
                log.warning("wait after create ended early", ["instance": created.id, "error": error.message])
                return try manager.status(created.id)
            }
        }
        return try json(201, InstanceView(status))
    }

    private func fork(_ request: HTTPRequest, reference: String) throws -> InstanceStatus {
        guard
            let body = try RequestBodyDecoder.decode(
                ForkInstanceBody.self, from: request.body, allowedFields: ForkInstanceBody.fields)
        else { throw APIError.badRequest("missing JSON body") }
        var target: ForkTarget?
        if let text = body.targetState {
            guard let parsed = ForkTarget(rawValue: text.lowercased()) else {
                throw APIError.badRequest("invalid target_state '\(text)'; use running, standby or stopped")
            }
            target = parsed
        }
        let source = try manager.status(reference)
        if let phase = source.metadata?.state, [.running, .initializing, .paused].contains(phase),
            body.fromRunning != true
        {
            throw APIError(
                status: 409, code: "conflict",
                message:
                    "instance '\(reference)' is \(phase.rawValue); set from_running to true to fork it while it runs")
        }
        return try manager.fork(reference, name: body.name, target: target)
    }

    private func waitForState(_ request: HTTPRequest, reference: String) throws -> HTTPResponse {
        try request.requireQuery(allowed: ["state", "timeout"])
        guard let text = request.query["state"],
            let requested = InstanceState.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() })
        else {
            throw APIError.badRequest(
                "missing or invalid state '\(request.query["state"] ?? "")'; use one of \(InstanceState.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var timeoutSeconds = 30.0
        if let timeoutText = request.query["timeout"] {
            guard let value = Double(timeoutText), value >= 0, value <= 300 else {
                throw APIError.badRequest("invalid timeout '\(timeoutText)'; give seconds from 0 to 300")
            }
            timeoutSeconds = value
        }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        var status = try manager.status(reference)
        while status.state != requested, ContinuousClock.now < deadline {
            usleep(50_000)
            status = try manager.status(reference)
        }
        return try json(200, WaitResponse(reached: status.state == requested, instance: InstanceView(status)))
    }

    // MARK: - Helpers

    @discardableResult
    func requireMethod(_ request: HTTPRequest, _ allowed: [String]) throws -> String {
        guard allowed.contains(request.method) else {
            throw APIError(
                status: 405, code: "method_not_allowed",
                message:
                    "method \(request.method) is not allowed on '\(request.path)'; use \(allowed.joined(separator: " or "))",
                headers: ["Allow": allowed.joined(separator: ", ")])
        }
        return request.method
    }

    private func requireEmptyBody(_ request: HTTPRequest) throws {
        let trimmed = request.body.filter { ![0x20, 0x0a, 0x0d, 0x09].contains($0) }
        guard trimmed.isEmpty || trimmed == Data("{}".utf8) else {
            throw APIError.badRequest("this operation takes no body; send none or {}")
        }
    }

    private func seconds(_ value: Double?, default defaultValue: Double, name: String) throws -> Duration {
        let seconds = value ?? defaultValue
        let range = InstanceManager.timeoutRangeSeconds
        guard range.contains(seconds) else {
            let secondsText =
                seconds.rounded() == seconds && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
            throw APIError.badRequest(
                "invalid \(name) \(secondsText); give seconds from \(Int(range.lowerBound)) to \(Int(range.upperBound))"
            )
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    private func timed<Result>(_ operation: String, _ reference: String, _ body: () throws -> Result) throws -> Result {
        let start = ContinuousClock.now
        do {
            let result = try body()
            let elapsed = ContinuousClock.now - start
            operations.observe(
                operation,
                seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            log.info(
                "operation finished",
                ["operation": operation, "instance": reference, "duration_ms": milliseconds(since: start)])
            return result
        } catch {
            log.warning(
                "operation failed",
                [
                    "operation": operation, "instance": reference, "duration_ms": milliseconds(since: start),
                    "error": "\(error)",
                ])
            throw error
        }
    }

    func milliseconds(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        return String(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    func json<Value: Encodable>(_ status: Int, _ value: Value) throws -> HTTPResponse {
        HTTPResponse(
            status: status, headers: ["Content-Type": "application/json"],
            body: .data(try JSONEncoder.api.encode(value)))
    }
}

/// The response of `GET /instances/{id}/wait`.
struct WaitResponse: Encodable {
    var reached: Bool
    var instance: InstanceView
}
