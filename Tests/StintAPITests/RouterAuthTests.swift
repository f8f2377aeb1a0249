import Foundation
import HTTPServer
import StintAPI
import Testing

/// Authentication, `/health` and the OpenAPI document, called in process.
@Suite struct RouterAuthTests {
    @Test func healthNeedsNoToken() throws {
        let fixture = try RouterFixture()
        let response = fixture.send("GET", "/health", authorization: "")

        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        let object = try JSONSerialization.jsonObject(with: response.data) as? [String: String]
        #expect(object == ["status": "ok"])
    }

    @Test func missingTokenGets401() throws {
        let fixture = try RouterFixture()
        let routes = [
            ("GET", "/openapi.json"), ("GET", "/instances"), ("POST", "/instances"), ("GET", "/instances/web"),
            ("DELETE", "/instances/web"), ("POST", "/instances/web/start"), ("GET", "/instances/web/logs"),
            ("GET", "/instances/web/wait"), ("GET", "/no-such-route"),
        ]
        for (method, path) in routes {
            let response = fixture.send(method, path, authorization: "")
            expectError(response, status: 401, code: "unauthorized", mentioning: ["Bearer"], "\(method) \(path)")
        }
    }

    @Test func wrongTokenGets401() throws {
        let fixture = try RouterFixture()
        let token = RouterFixture.token
        let wrongHeaders = [
            "Bearer " + String(token.dropLast()) + "X",
            "Bearer " + String(token.dropLast()),
            "Bearer " + token + "x",
            "Bearer ",
            "Bearer",
            "Basic " + token,
            token,
        ]
        for header in wrongHeaders {
            let response = fixture.send("GET", "/instances", authorization: header)
            expectError(response, status: 401, code: "unauthorized", "Authorization: \(header)")
        }
    }

    /// The scheme name of an `Authorization` header is case-insensitive and more than one space may follow it (RFC 9110, section 11).
    @Test func bearerSchemeIgnoresCase() throws {
        let fixture = try RouterFixture()
        for header in ["Bearer ", "bearer ", "BEARER ", "Bearer   "].map({ $0 + RouterFixture.token }) {
            let response = fixture.send("GET", "/instances", authorization: header)
            #expect(response.status == 200, "Authorization: \(header): \(response.text)")
        }
    }

    @Test func openAPIDocumentMatchesDocsFile() throws {
        let fixture = try RouterFixture()
        let response = fixture.send("GET", "/openapi.json")

        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        let file = try String(contentsOfFile: TestPaths.packageRoot + "/docs/openapi.json", encoding: .utf8)
        #expect(
            response.text.trimmingCharacters(in: .newlines) == file.trimmingCharacters(in: .newlines),
            "docs/openapi.json differs from the served document; run python3 scripts/embed-openapi.py")
        let document = try JSONSerialization.jsonObject(with: response.data) as? [String: Any]
        #expect(document?["openapi"] as? String == "3.1.0")
    }

    /// Every operation in the document reaches a route, and every other method on a documented path gets 405.
    @Test func documentMatchesRouter() throws {
        let fixture = try RouterFixture()
        let document = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any]
        let paths = try #require(document?["paths"] as? [String: [String: Any]])
        let expectedPaths: Set = [
            "/health", "/openapi.json", "/instances", "/instances/{id}", "/instances/{id}/start",
            "/instances/{id}/stop", "/instances/{id}/pause", "/instances/{id}/resume", "/instances/{id}/standby",
            "/instances/{id}/restore", "/instances/{id}/fork", "/instances/{id}/logs", "/instances/{id}/wait",
        ]
        #expect(expectedPaths.isSubset(of: Set(paths.keys)), "documented paths: \(paths.keys.sorted())")
        let allMethods: Set = ["GET", "POST", "PUT", "PATCH", "DELETE"]

        for (template, operations) in paths {
            let path = template.replacingOccurrences(of: "{id}", with: "no-such-instance")
            let documented = Set(operations.keys.filter { $0 != "parameters" }.map { $0.uppercased() })
            #expect(!documented.isEmpty, "\(template) has no operations")
            for method in documented {
                let response = fixture.send(
                    method, path, query: template.hasSuffix("/wait") ? ["state": "running"] : [:])
                let object = ResponseParts(response).jsonObject
                let isMissingRoute =
                    response.status == 404 && (object?["message"] as? String ?? "").contains("no route")
                #expect(
                    response.status != 405 && !isMissingRoute,
                    "\(method) \(template): \(response.status) \(response.text)")
            }
            for method in allMethods.subtracting(documented) {
                let response = fixture.send(method, path)
                expectError(response, status: 405, code: "method_not_allowed", "\(method) \(template)")
            }
        }
    }
}
