import Foundation
import HTTPServer
import Instances
import PhaseTracking
import Testing

/// Listing, waiting, logs and operation bodies, called in process on instances that are never booted.
@Suite struct RouterQueryTests {
    @Test func listIsEmptyAtFirst() throws {
        let fixture = try RouterFixture()
        let response = fixture.send("GET", "/instances")

        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.text == "[]")
    }

    @Test func listShowsPhaseFields() throws {
        let fixture = try RouterFixture()
        let created = try fixture.createInstanceWithoutBooting(name: "web")

        let response = fixture.send("GET", "/instances")
        #expect(response.status == 200)
        let views = try JSONDecoder().decode([InstanceView].self, from: response.data)
        #expect(views.map(\.id) == [created.id])
        let view = try #require(views.first)
        #expect(view.state == "Created")
        #expect(view.currentPhase == "created")
        #expect(view.currentPhaseSince == view.createdAt)
        #expect(view.currentPhaseSince?.hasSuffix("Z") == true)
        #expect(Set(view.phaseDurationsMilliseconds?.keys.map { $0 } ?? []) == ["created"])

        let byName = try JSONDecoder().decode(InstanceView.self, from: fixture.send("GET", "/instances/web").data)
        let byID = try JSONDecoder().decode(
            InstanceView.self, from: fixture.send("GET", "/instances/\(created.id)").data)
        #expect(byName.id == created.id)
        #expect(byID.id == created.id)
        #expect(byID.currentPhaseSince == view.currentPhaseSince)
    }

    @Test func listFiltersByState() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        try fixture.createInstanceWithoutBooting(name: "api")

        for state in ["Created", "created", "CREATED"] {
            let views = try JSONDecoder().decode(
                [InstanceView].self, from: fixture.send("GET", "/instances", query: ["state": state]).data)
            #expect(views.compactMap(\.name) == ["api", "web"], "state=\(state)")
        }
        for state in ["Running", "standby", "Unknown"] {
            let response = fixture.send("GET", "/instances", query: ["state": state])
            #expect(response.status == 200)
            #expect(response.text == "[]", "state=\(state)")
        }
    }

    @Test func listRejectsBadQuery() throws {
        let fixture = try RouterFixture()
        for state in ["bogus", "", "run", "Running,Paused"] {
            expectError(
                fixture.send("GET", "/instances", query: ["state": state]), status: 400, code: "invalid_argument",
                mentioning: ["invalid state '\(state)'", "Running"], "state=\(state)")
        }
        expectError(
            fixture.send("GET", "/instances", query: ["color": "red"]), status: 400, code: "invalid_argument",
            mentioning: ["'color'"])
    }

    @Test func waitReportsReachedAtOnce() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")

        let reached = fixture.send("GET", "/instances/web/wait", query: ["state": "created", "timeout": "0"])
        #expect(reached.status == 200)
        let reachedObject = ResponseParts(reached).jsonObject
        #expect(reachedObject?["reached"] as? Bool == true)
        #expect((reachedObject?["instance"] as? [String: Any])?["name"] as? String == "web")

        let start = ContinuousClock.now
        let missed = fixture.send("GET", "/instances/web/wait", query: ["state": "Running", "timeout": "0.3"])
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(missed.status == 200)
        #expect(ResponseParts(missed).jsonObject?["reached"] as? Bool == false)
    }

    @Test func waitRejectsBadParameters() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        let cases: [([String: String], String)] = [
            ([:], "missing or invalid state"),
            (["state": "bogus"], "invalid state 'bogus'"),
            (["state": "running", "timeout": "-1"], "invalid timeout '-1'"),
            (["state": "running", "timeout": "301"], "invalid timeout '301'"),
            (["state": "running", "timeout": "abc"], "invalid timeout 'abc'"),
            (["state": "running", "timeout": "nan"], "invalid timeout 'nan'"),
            (["state": "running", "timeout": "inf"], "invalid timeout 'inf'"),
            (["state": "running", "wait": "1"], "'wait'"),
        ]
        for (query, fragment) in cases {
            expectError(
                fixture.send("GET", "/instances/web/wait", query: query), status: 400, code: "invalid_argument",
                mentioning: [fragment], "query \(query)")
        }
    }

    @Test func logsOfUnbootedInstanceAreEmpty() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        for query in [[:], ["tail": "0"], ["tail": "5"], ["source": "hypervisor"], ["follow": "false"]] {
            let response = fixture.send("GET", "/instances/web/logs", query: query)
            #expect(response.status == 200, "query \(query): \(response.text)")
            #expect(response.headers["Content-Type"] == "text/plain; charset=utf-8")
            #expect(response.data.isEmpty, "query \(query)")
        }
    }

    @Test func logsRejectBadParameters() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        let cases: [([String: String], String)] = [
            (["tail": "-1"], "invalid tail '-1'"),
            (["tail": "x"], "invalid tail 'x'"),
            (["tail": "1000001"], "invalid tail '1000001'"),
            (["follow": "maybe"], "invalid follow 'maybe'"),
            (["source": "kernel"], "invalid source 'kernel'"),
            (["lines": "5"], "'lines'"),
        ]
        for (query, fragment) in cases {
            expectError(
                fixture.send("GET", "/instances/web/logs", query: query), status: 400, code: "invalid_argument",
                mentioning: [fragment], "query \(query)")
        }
    }

    @Test func forkBodyIsValidated() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        let cases: [(String?, String)] = [
            (nil, "missing JSON body"),
            ("{}", "missing field 'name'"),
            (#"{"name": 5}"#, "'name' must be of type string"),
            (#"{"name": "copy", "extra": 1}"#, "'extra'"),
            (#"{"name": "copy", "from_running": "yes"}"#, "'from_running' must be of type boolean"),
            (#"{"name": "copy", "target_state": "paused"}"#, "invalid target_state 'paused'"),
            (#"{"name": "copy", "target_state": 1}"#, "'target_state'"),
            (#"{"name": "copy" "x"}"#, "malformed JSON"),
            (#"["copy"]"#, "must be an object"),
        ]
        for (body, fragment) in cases {
            expectError(
                fixture.send("POST", "/instances/web/fork", body: body), status: 400, code: "invalid_argument",
                mentioning: [fragment], "body \(body ?? "<none>")")
        }
        #expect(fixture.directory.instanceIDs().count == 1)
    }

    @Test func operationBodiesAreValidated() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        for action in ["start", "pause", "resume", "standby", "restore"] {
            expectError(
                fixture.send("POST", "/instances/web/\(action)", body: #"{"force": true}"#), status: 400,
                code: "invalid_argument", mentioning: ["no body"], action)
        }
        let stopCases: [(String, String)] = [
            (#"{"timeout_seconds": -1}"#, "invalid timeout_seconds"),
            (#"{"timeout_seconds": 3601}"#, "invalid timeout_seconds 3601;"),
            (#"{"timeout_seconds": "10"}"#, "'timeout_seconds' must be of type number"),
            (#"{"force": true}"#, "'force'"),
            ("{", "malformed JSON"),
        ]
        for (body, fragment) in stopCases {
            expectError(
                fixture.send("POST", "/instances/web/stop", body: body), status: 400, code: "invalid_argument",
                mentioning: [fragment], "stop body \(body)")
        }
        let view = try JSONDecoder().decode(InstanceView.self, from: fixture.send("GET", "/instances/web").data)
        #expect(view.state == "Created")
    }

    /// Operations that a `created` instance cannot take are conflicts, and they leave the instance unchanged.
    @Test func createdInstanceConflicts() throws {
        let fixture = try RouterFixture()
        try fixture.createInstanceWithoutBooting(name: "web")
        for action in ["pause", "resume", "standby", "restore"] {
            expectError(fixture.send("POST", "/instances/web/\(action)"), status: 409, code: "conflict", action)
        }
        let view = try JSONDecoder().decode(InstanceView.self, from: fixture.send("GET", "/instances/web").data)
        #expect(view.state == "Created")
        #expect(Set(view.phaseDurationsMilliseconds?.keys.map { $0 } ?? []) == ["created"])
    }

    @Test func deleteRemovesUnbootedInstance() throws {
        let fixture = try RouterFixture()
        let created = try fixture.createInstanceWithoutBooting(name: "web")

        let response = fixture.send("DELETE", "/instances/web")

        #expect(response.status == 204)
        #expect(response.data.isEmpty)
        #expect(fixture.directory.instanceIDs().isEmpty)
        expectError(fixture.send("GET", "/instances/\(created.id)"), status: 404, code: "not_found")
        expectError(fixture.send("DELETE", "/instances/web"), status: 404, code: "not_found")
    }
}
