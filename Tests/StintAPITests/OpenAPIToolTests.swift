import Foundation
import StintTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `openapi-spec-validator` on the served document, with a broken copy as a control.
@Suite struct OpenAPIValidatorTests {
    @Test func validatorAcceptsServedDocument() throws {
        let validator = try TestPaths.pythonTool("openapi-spec-validator")
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)
        let response = try server.client.send("GET", "/openapi.json")
        #expect(response.status == 200)
        let documentPath = directory.parent + "/served-openapi.json"
        try response.body.write(to: URL(fileURLWithPath: documentPath))

        let accepted = try runTool(validator, [documentPath], in: directory, timeout: .seconds(60))
        #expect(accepted.code == 0, "openapi-spec-validator rejected the served document: \(accepted.output)")

        var broken = try #require(try JSONSerialization.jsonObject(with: response.body) as? [String: Any])
        broken["paths"] = ["/instances": ["get": ["responses": ["200": ["content": 5]]]]]
        let brokenPath = directory.parent + "/broken-openapi.json"
        try JSONSerialization.data(withJSONObject: broken).write(to: URL(fileURLWithPath: brokenPath))
        let rejected = try runTool(validator, [brokenPath], in: directory, timeout: .seconds(60))
        #expect(rejected.code != 0, "openapi-spec-validator accepted a broken document, so it checks nothing")
    }
}

extension GuestTests {
    /// Schemathesis against a live server: no 5xx, and every status, content type and body as documented.
    @Suite struct SchemathesisTests {
        @Test func liveServerConformsToDocument() throws {
            let schemathesis = try TestPaths.pythonTool("schemathesis")
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let hooksDirectory = directory.parent + "/hooks"
            try FileManager.default.createDirectory(atPath: hooksDirectory, withIntermediateDirectories: false)
            try SchemathesisHooks.source.write(
                toFile: hooksDirectory + "/stint_schemathesis_hooks.py", atomically: true, encoding: .utf8)

            let baseURL = "http://127.0.0.1:\(server.port)"
            let arguments = [
                "run", baseURL + "/openapi.json",
                "--header", "Authorization: Bearer \(server.client.token)",
                "--checks", SchemathesisHooks.checks.joined(separator: ","),
                "--phases", "coverage,fuzzing",
                "--max-examples", "5",
                "--workers", "1",
                "--seed", "20240611",
                "--request-timeout", "60",
                "--generation-database", "none",
                "--no-color",
                "--report", "junit", "--report-junit-path", directory.parent + "/schemathesis-junit.xml",
            ]
            let environment = [
                "SCHEMATHESIS_HOOKS": "stint_schemathesis_hooks", "PYTHONPATH": hooksDirectory,
                "STINT_TEST_BASE_URL": baseURL, "STINT_TEST_TOKEN": server.client.token,
            ]
            let result = try runTool(
                schemathesis, arguments, in: directory, environment: environment, timeout: .seconds(170))

            #expect(result.code == 0, "schemathesis found problems:\n\(result.output.suffix(6_000))")
            #expect(
                result.output.contains("Coverage"), "schemathesis did not run its coverage phase:\n\(result.output)")
            #expect(
                server.process.isRunning, "stint serve died during the run: \(server.process.errorOutput.suffix(3_000))"
            )
            server.client.deleteAll()
            #expect(directory.instanceIDs().isEmpty, "instances left after the run: \(directory.instanceIDs())")
        }
    }
}

/// The checks and the hooks module that keep a schemathesis run against real guests bounded.
enum SchemathesisHooks {
    /// The checks to run (schemathesis 4.x names).
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance",
        "response_headers_conformance", "unsupported_method", "allow_header_conformance",
    ]

    /// A Python module for `SCHEMATHESIS_HOOKS`. Before each call it caps long polls (`wait`, `timeout`) at one
    /// second, turns `follow` off (a followed log never ends while its guest runs), and lowers in-range guest
    /// sizes to 256 MiB, 2 vCPUs and a 30 s boot wait. After each 201 from a POST it deletes the new instance,
    /// so at most one guest runs at a time.
    ///
    /// NOTE: so schemathesis never tests guest sizes above those caps or a followed log; the end-to-end tests
    /// cover following logs.
    static let source = #"""
        import os

        import requests
        import schemathesis

        BASE_URL = os.environ["STINT_TEST_BASE_URL"]
        HEADERS = {"Authorization": "Bearer " + os.environ["STINT_TEST_TOKEN"]}


        def is_number(value):
            return isinstance(value, (int, float)) and not isinstance(value, bool)


        def cap_long_poll(value):
            if isinstance(value, list):
                return [cap_long_poll(item) for item in value]
            if isinstance(value, bool):
                return value
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return value
            return 1 if seconds > 1 else value


        def cap(values, key, low, high, limit):
            value = values.get(key)
            if is_number(value) and low <= value <= high and value > limit:
                values[key] = limit


        @schemathesis.hook
        def before_call(context, case, kwargs):
            if isinstance(case.query, dict):
                for key in ("wait", "timeout"):
                    if key in case.query:
                        case.query[key] = cap_long_poll(case.query[key])
                if "follow" in case.query:
                    case.query["follow"] = "false"
            if case.method.upper() == "POST" and case.path == "/instances" and isinstance(case.body, dict):
                cap(case.body, "memory_mib", 64, 65536, 256)
                cap(case.body, "vcpus", 1, 64, 2)
                cap(case.body, "wait_timeout_seconds", 0, 3600, 30)


        @schemathesis.hook
        def after_call(context, case, response):
            if case.method.upper() != "POST" or response.status_code != 201:
                return
            try:
                instance_id = response.json().get("id")
            except ValueError:
                return
            if instance_id:
                requests.delete(BASE_URL + "/instances/" + instance_id, headers=HEADERS, timeout=60)
        """#
}

/// Runs a tool with its output in files under the test's directory; kills it by pid after `timeout`.
func runTool(
    _ executable: String, _ arguments: [String], in directory: TestDataDirectory, environment: [String: String] = [:],
    timeout: Duration
) throws -> (code: Int32, output: String) {
    let stamp = UInt32.random(in: 0...UInt32.max)
    let name = URL(fileURLWithPath: executable).lastPathComponent
    let child = try ChildProcess(
        executable: executable, arguments: arguments, environment: environment,
        outputPath: "\(directory.parent)/\(name)-\(stamp).out", errorPath: "\(directory.parent)/\(name)-\(stamp).err")
    guard let code = child.waitForExit(timeout: timeout) else {
        child.killAndReap()
        throw TestFailure("\(name) did not finish within \(timeout); output so far:\n\(child.output.suffix(4_000))")
    }
    return (code, child.output + child.errorOutput)
}
