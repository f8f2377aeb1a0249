import Foundation
import HTTPServer
import Testing

/// Validation of `POST /instances`, called in process. Every case must be rejected before anything is created.
@Suite struct RouterCreateTests {
    /// Sends `body` to `POST /instances`, checks the 400 and that no instance exists afterwards.
    private func expectRejected(
        _ fixture: RouterFixture, _ body: String?, mentioning fragments: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let response = fixture.send("POST", "/instances", body: body)
        expectError(
            response, status: 400, code: "invalid_argument", mentioning: fragments, "body \(body ?? "<none>")",
            sourceLocation: sourceLocation)
        #expect(
            fixture.directory.instanceIDs().isEmpty, "body \(body ?? "<none>") created an instance",
            sourceLocation: sourceLocation)
    }

    @Test func missingOrEmptyBody() throws {
        let fixture = try RouterFixture()
        expectRejected(fixture, nil, mentioning: ["missing JSON body"])
        expectRejected(fixture, " \n\t", mentioning: ["missing JSON body"])
    }

    @Test func unknownFieldIsNamed() throws {
        let fixture = try RouterFixture()
        expectRejected(fixture, #"{"command": ["true"], "colour": "red"}"#, mentioning: ["'colour'", "allowed:"])
        expectRejected(
            fixture, #"{"command": ["true"], "memory": 128, "cpus": 2}"#, mentioning: ["'cpus'", "'memory'"])
    }

    @Test func malformedJSONNamesPosition() throws {
        let fixture = try RouterFixture()
        expectRejected(
            fixture, "{\n  \"command\": [\"true\" \"x\"]\n}", mentioning: ["malformed JSON", "line 2, column "])
        expectRejected(fixture, "{\"command\": ", mentioning: ["malformed JSON"])
        expectRejected(fixture, "command=true", mentioning: ["malformed JSON", "line 1, column 1"])
    }

    @Test func bodyMustBeObject() throws {
        let fixture = try RouterFixture()
        expectRejected(fixture, #"["sh"]"#, mentioning: ["must be an object"])
        // Foundation's parser rejects a top-level scalar, so the message never reaches the object check.
        expectRejected(fixture, "42", mentioning: ["JSON"])
        expectRejected(fixture, "null", mentioning: ["JSON"])
    }

    @Test func wrongTypesAreNamed() throws {
        let fixture = try RouterFixture()
        let cases: [(String, String)] = [
            (#"{"command": "true"}"#, "'command'"),
            (#"{"command": [1, 2]}"#, "'command"),
            (#"{"command": ["true"], "memory_mib": "256"}"#, "'memory_mib' must be of type integer"),
            (#"{"command": ["true"], "memory_mib": 128.5}"#, "field 'memory_mib' must be an integer; got 128.5"),
            (#"{"command": ["true"], "memory_mib": 1e30}"#, "field 'memory_mib' must be an integer"),
            (#"{"command": ["true"], "vcpus": -0.5}"#, "field 'vcpus' must be an integer"),
            (#"{"command": ["true"], "vcpus": true}"#, "'vcpus'"),
            (
                #"{"command": ["true"], "memory_mib": 128, "memory_mib": 99999999}"#,
                "'memory_mib' is given more than once"
            ),
            (#"{"command": ["true"], "vcpus": 1, "vcp\u0075s": 2}"#, "'vcpus' is given more than once"),
            (
                #"{"command": ["a:b", "{\"x\": 1, \"x\": 2}"], "name": "n", "name" : "m"}"#,
                "'name' is given more than once"
            ),
            (#"{"command": ["true"], "name": 7}"#, "'name' must be of type string"),
            (#"{"command": ["true"], "wait_for": 1}"#, "'wait_for'"),
            (#"{"command": ["true"], "wait_timeout_seconds": "10"}"#, "'wait_timeout_seconds'"),
        ]
        for (body, fragment) in cases {
            expectRejected(fixture, body, mentioning: ["invalid JSON body", fragment])
        }
    }

    @Test func invalidNamesAreRejected() throws {
        let fixture = try RouterFixture()
        let names = [
            "", "Web", "-web", "web-", "web_1", "web.1", "../evil", "a/b", String(repeating: "a", count: 64),
            "0123456789abcdef",
        ]
        for name in names {
            let body = try String(
                decoding: JSONSerialization.data(withJSONObject: ["name": name, "command": ["true"]]), as: UTF8.self)
            expectRejected(fixture, body, mentioning: ["invalid instance name"])
        }
    }

    @Test func missingCommandIsRejected() throws {
        let fixture = try RouterFixture()
        expectRejected(fixture, "{}", mentioning: ["missing field 'command'"])
        expectRejected(fixture, #"{"name": "web"}"#, mentioning: ["missing field 'command'"])
        expectRejected(fixture, #"{"command": []}"#, mentioning: ["missing command"])
        expectRejected(fixture, #"{"command": [""]}"#, mentioning: ["missing command"])
        expectRejected(fixture, #"{"command": null}"#, mentioning: ["'command'"])
    }

    /// The kernel command line carries the command, so a NUL byte or a command too long for it is invalid input.
    @Test func uncarriableCommandIsRejected() throws {
        let fixture = try RouterFixture()
        expectRejected(fixture, #"{"command": ["sh", "a\u0000b"]}"#, mentioning: ["NUL"])
        let long = String(repeating: "x", count: 3_000)
        expectRejected(fixture, #"{"command": ["sh", "\#(long)"]}"#, mentioning: ["2047 bytes"])
    }

    @Test func memoryOutOfRangeIsRejected() throws {
        let fixture = try RouterFixture()
        for memory in [-1, 0, 63, 65_537, 1 << 40] {
            expectRejected(
                fixture, #"{"command": ["true"], "memory_mib": \#(memory)}"#,
                mentioning: ["invalid memory \(memory) MiB"])
        }
        for vcpus in [0, 65, -3] {
            expectRejected(
                fixture, #"{"command": ["true"], "vcpus": \#(vcpus)}"#, mentioning: ["invalid vcpus \(vcpus)"])
        }
    }

    @Test func waitOptionsAreChecked() throws {
        let fixture = try RouterFixture()
        expectRejected(
            fixture, #"{"command": ["true"], "wait_for": "stopped"}"#, mentioning: ["invalid wait_for 'stopped'"])
        expectRejected(fixture, #"{"command": ["true"], "wait_for": "Running"}"#, mentioning: ["invalid wait_for"])
        for timeout in ["-1", "3601", "1e300"] {
            expectRejected(
                fixture, #"{"command": ["true"], "wait_timeout_seconds": \#(timeout)}"#,
                mentioning: ["invalid wait_timeout_seconds"])
        }
    }

    @Test func duplicateNameGets409() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")

        let response = fixture.send("POST", "/instances", body: #"{"name": "web", "command": ["true"]}"#)

        expectError(response, status: 409, code: "conflict", mentioning: ["'web'"])
        #expect(fixture.directory.instanceIDs().count == 1)
    }
}
