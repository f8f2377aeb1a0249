import Foundation
import HTTPServer
import Testing

/// Routing of instance paths, called in process: unknown ids, dot segments and encoded slashes, wrong methods.
@Suite struct RouterPathTests {
    private static let actions = ["start", "stop", "pause", "resume", "standby", "restore", "fork"]

    @Test func unknownInstanceGets404() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "known")

        for reference in ["nope", "0123456789abcdef", "KNOWN", "known-"] {
            expectError(
                fixture.send("GET", "/instances/\(reference)"), status: 404, code: "not_found", "GET \(reference)")
            expectError(
                fixture.send("DELETE", "/instances/\(reference)"), status: 404, code: "not_found", "DELETE \(reference)"
            )
            for action in Self.actions {
                let body = action == "fork" ? #"{"name": "copy"}"# : nil
                expectError(
                    fixture.send("POST", "/instances/\(reference)/\(action)", body: body), status: 404,
                    code: "not_found",
                    "\(action) \(reference)")
            }
            expectError(
                fixture.send("GET", "/instances/\(reference)/logs"), status: 404, code: "not_found", "logs \(reference)"
            )
            expectError(
                fixture.send("GET", "/instances/\(reference)/wait", query: ["state": "running", "timeout": "0"]),
                status: 404, code: "not_found", "wait \(reference)")
        }
        #expect(fixture.directory.instanceIDs().count == 1)
    }

    @Test func unknownRouteGets404() throws {
        let fixture = try RouterFixture()
        for path in ["/", "/instance", "/instances/web/reboot", "/instances/web/logs/extra", "/v1/instances", "health"]
        {
            expectError(fixture.send("GET", path), status: 404, code: "not_found", path)
        }
    }

    /// Dot segments, encoded slashes and NUL bytes never reach the instance layer, and no request writes a file
    /// outside the data directory.
    @Test func traversalPathsGet404() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "known")
        let marker = "stint-escape-\(UInt32.random(in: 0...UInt32.max))"
        let before = fixture.directory.entriesOutsideData()
        let metadataBefore = try fixture.directory.metadataBytes(fixture.directory.instanceIDs()[0])

        let references = [
            "..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "..%2F..%2F\(marker)", "..%2f..%2f..%2f\(marker)",
            "%2e%2e%2f%2e%2e%2f\(marker)", "known%2F..%2F..%2F\(marker)", "a%2Fb", "%00", "known%00", "%zz",
            "%C0%AE%C0%AE",
        ]
        var requests: [(String, String, String?)] = []
        for reference in references {
            requests.append(("GET", "/instances/\(reference)", nil))
            requests.append(("DELETE", "/instances/\(reference)", nil))
            requests.append(("GET", "/instances/\(reference)/logs", nil))
            requests.append(("POST", "/instances/\(reference)/start", nil))
            requests.append(("POST", "/instances/\(reference)/standby", nil))
            requests.append(("POST", "/instances/\(reference)/fork", #"{"name": "\#(marker)"}"#))
        }
        requests.append(("GET", "/instances/../instances", nil))
        requests.append(("GET", "/instances/known/../../health", nil))
        requests.append(("DELETE", "/instances/./known", nil))

        for (method, path, body) in requests {
            let response = fixture.send(method, path, body: body)
            expectError(response, status: 404, code: "not_found", "\(method) \(path)")
        }

        #expect(fixture.directory.entriesOutsideData() == before)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
        #expect(!FileManager.default.fileExists(atPath: "/\(marker)"))
        #expect(fixture.directory.instanceIDs().count == 1)
        let metadataAfter = try fixture.directory.metadataBytes(fixture.directory.instanceIDs()[0])
        #expect(metadataAfter == metadataBefore, "a traversal request changed the existing instance")
    }

    @Test func wrongMethodGets405WithAllow() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "known")
        let cases: [(String, String, String)] = [
            ("POST", "/health", "GET"),
            ("DELETE", "/openapi.json", "GET"),
            ("PUT", "/instances", "GET, POST"),
            ("DELETE", "/instances", "GET, POST"),
            ("PATCH", "/instances/known", "GET, DELETE"),
            ("POST", "/instances/known", "GET, DELETE"),
            ("POST", "/instances/nope", "GET, DELETE"),
            ("GET", "/instances/known/start", "POST"),
            ("DELETE", "/instances/known/fork", "POST"),
            ("PUT", "/instances/known/stop", "POST"),
            ("POST", "/instances/known/logs", "GET"),
            ("POST", "/instances/known/wait", "GET"),
        ]
        for (method, path, allow) in cases {
            let response = fixture.send(method, path)
            expectError(response, status: 405, code: "method_not_allowed", mentioning: [method], "\(method) \(path)")
            #expect(
                response.headers["Allow"] == allow, "\(method) \(path): Allow \(response.headers["Allow"] ?? "none")")
        }
        #expect(fixture.directory.instanceIDs().count == 1)
    }
}
