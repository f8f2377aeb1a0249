import Foundation
import HTTPServer
import Instances
import PhaseTracking
import StintAPI

/// An `InstanceAPI` over a fresh data directory, called in process without a socket.
///
/// Nothing here boots a guest: instances made with `createInstanceWithoutBooting` stay in the `created` phase.
struct RouterFixture {
    static let token = "router-test-token-0123456789abcdef"

    let directory: TestDataDirectory
    let manager: InstanceManager
    let api: InstanceAPI

    init(clock: any HostClock = SystemClock()) throws {
        directory = try TestDataDirectory()
        let configuration = ManagerConfiguration(
            dataDirectory: directory.path, imageDirectory: TestPaths.imageDirectory,
            stintExecutable: try TestPaths.stintBinary())
        manager = try InstanceManager(configuration: configuration, clock: clock)
        api = InstanceAPI(
            manager: manager, token: Self.token, log: Logger(label: "stint.api-test", minimumLevel: .error))
    }

    /// Calls the router. `path` is sent as is (still percent-encoded); `authorization` replaces the bearer header,
    /// and an empty string sends none.
    func send(
        _ method: String, _ path: String, query: [String: String] = [:], body: String? = nil,
        authorization: String? = nil
    ) -> HTTPResponse {
        var headers: [String: String] = [:]
        let header = authorization ?? "Bearer \(Self.token)"
        if !header.isEmpty {
            headers["authorization"] = header
        }
        let request = HTTPRequest(
            method: method, path: path, query: query, headers: headers, body: Data((body ?? "").utf8),
            remoteAddress: "127.0.0.1")
        return api.handle(request)
    }

    /// Creates an instance in the `created` phase through the library, without booting it.
    @discardableResult
    func createInstanceWithoutBooting(name: String) throws -> InstanceStatus {
        try manager.create(CreateRequest(name: name, command: ["sh", "-c", "echo hi"], memoryMiB: 128))
    }
}

extension HTTPResponse {
    /// The body of a `.data` response; empty for a stream.
    var data: Data {
        if case .data(let data) = body { return data }
        if case .bytes(let bytes) = body { return bytes.withBytes { Data($0) } }
        return Data()
    }

    var text: String { String(decoding: data, as: UTF8.self) }
}
