import Foundation
import Instances
import PhaseTracking
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension GuestTests {
    /// Every lifecycle operation over a real socket on a real guest.
    @Suite struct LifecycleOverHTTPTests {
        @Test func fullLifecycle() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let client = server.client

            let created = try timedInstance(client, "POST", "/instances", json: createBody(name: "web"), expecting: 201)
            #expect(created.view.state == "Running")
            #expect(created.view.memoryMiB == 128)
            #expect(created.view.command == counterCommand)
            expectPhaseFields(created.view, phase: "running", sentAt: created.sentAt, receivedAt: created.receivedAt)
            #expect((created.view.phaseDurationsMilliseconds?["initializing"] ?? 0) > 0)
            let id = created.view.id

            let fetched = try timedInstance(client, "GET", "/instances/web")
            #expect(fetched.view.id == id)
            #expect(fetched.view.currentPhaseSince == created.view.currentPhaseSince)
            expectPhaseFields(fetched.view, phase: "running", sentAt: fetched.sentAt, receivedAt: fetched.receivedAt)

            let paused = try timedInstance(client, "POST", "/instances/web/pause")
            #expect(paused.view.state == "Paused")
            expectPhaseFields(paused.view, phase: "paused", sentAt: paused.sentAt, receivedAt: paused.receivedAt)
            usleep(500_000)

            let resumed = try timedInstance(client, "POST", "/instances/\(id)/resume")
            #expect(resumed.view.state == "Running")
            expectPhaseFields(resumed.view, phase: "running", sentAt: resumed.sentAt, receivedAt: resumed.receivedAt)
            #expect((resumed.view.phaseDurationsMilliseconds?["paused"] ?? 0) >= 499)

            let parked = try timedInstance(client, "POST", "/instances/web/standby")
            #expect(parked.view.state == "Standby")
            #expect(parked.view.hasSnapshot)
            expectPhaseFields(parked.view, phase: "standby", sentAt: parked.sentAt, receivedAt: parked.receivedAt)

            let restored = try timedInstance(client, "POST", "/instances/web/restore")
            #expect(restored.view.state == "Running")
            #expect(!restored.view.hasSnapshot)
            expectPhaseFields(restored.view, phase: "running", sentAt: restored.sentAt, receivedAt: restored.receivedAt)
            #expect((restored.view.phaseDurationsMilliseconds?["standby"] ?? 0) > 0)

            let sourceBefore = try client.instance("GET", "/instances/web")
            let fork = try timedInstance(
                client, "POST", "/instances/web/fork", json: ["name": "web-copy", "from_running": true], expecting: 201)
            #expect(fork.view.forkedFrom == id)
            #expect(fork.view.name == "web-copy")
            #expect(fork.view.state == "Running")
            expectPhaseFields(fork.view, phase: "running", sentAt: fork.sentAt, receivedAt: fork.receivedAt)
            #expect(fork.view.phaseDurationsMilliseconds?["standby"] == nil, "the fork inherited the source's history")
            #expect(fork.view.phaseDurationsMilliseconds?["paused"] == nil, "the fork inherited the source's history")

            let sourceAfter = try client.instance("GET", "/instances/web")
            for (phase, milliseconds) in sourceBefore.phaseDurationsMilliseconds ?? [:] {
                #expect(
                    (sourceAfter.phaseDurationsMilliseconds?[phase] ?? -1) >= milliseconds, "source lost \(phase) time")
            }
            #expect(
                (sourceAfter.phaseDurationsMilliseconds?["paused"] ?? 0)
                    > (sourceBefore.phaseDurationsMilliseconds?["paused"] ?? 0),
                "the source was not paused for the copy")

            let stopped = try timedInstance(client, "POST", "/instances/web/stop", json: ["timeout_seconds": 1])
            #expect(stopped.view.state == "Stopped")
            expectPhaseFields(stopped.view, phase: "stopped", sentAt: stopped.sentAt, receivedAt: stopped.receivedAt)
            #expect(try directory.hypervisorPID(id) == nil)

            let deleted = try client.send("DELETE", "/instances/web")
            #expect(deleted.status == 204)
            #expect(deleted.body.isEmpty)
            expectError(try client.send("GET", "/instances/web"), status: 404, code: "not_found")
            #expect(try client.send("DELETE", "/instances/web-copy").status == 204)
            #expect(try client.list().isEmpty)

            // Every monitor the server started has ended; none may stay behind as a zombie child of the server.
            let deadline = ContinuousClock.now + .seconds(15)
            while !zombieChildren(of: server.process.pid).isEmpty, ContinuousClock.now < deadline {
                usleep(100_000)
            }
            #expect(zombieChildren(of: server.process.pid).isEmpty)
        }

        @Test func conflictingOperationsGet409() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let client = server.client
            let running = try client.instance("POST", "/instances", json: createBody(name: "busy"), expecting: 201)

            expectError(try client.send("POST", "/instances/busy/restore"), status: 409, code: "conflict", "restore")
            expectError(
                try client.send("POST", "/instances/busy/fork", json: ["name": "copy"]), status: 409, code: "conflict",
                mentioning: ["from_running"], "fork without from_running")
            expectError(
                try client.send("POST", "/instances/busy/fork", json: ["name": "copy", "from_running": false]),
                status: 409, code: "conflict", "fork with from_running false")
            expectError(try client.send("POST", "/instances/busy/start"), status: 409, code: "conflict", "start")
            expectError(
                try client.send("POST", "/instances", json: createBody(name: "busy")), status: 409, code: "conflict",
                mentioning: ["'busy'"], "duplicate name")

            let after = try client.instance("GET", "/instances/busy")
            #expect(after.state == "Running")
            #expect(after.currentPhaseSince == running.currentPhaseSince, "a rejected operation changed the phase")
            #expect(try client.list().map(\.name) == ["busy"])
        }

        @Test func logsTailAndFollow() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let client = server.client
            let view = try client.instance("POST", "/instances", json: createBody(name: "talker"), expecting: 201)

            let deadline = ContinuousClock.now + .seconds(20)
            var full = ""
            while counts(in: full).count < 5, ContinuousClock.now < deadline {
                usleep(200_000)
                full = try client.send("GET", "/instances/talker/logs").text
            }
            #expect(counts(in: full).count >= 5, "the guest printed too little: \(full)")

            let tail = try client.send("GET", "/instances/talker/logs?tail=2")
            #expect(tail.status == 200)
            #expect(tail.headers["content-type"] == "text/plain; charset=utf-8")
            let tailLines = tail.text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(tailLines.count == 3, "tail=2 returned \(tail.text)")
            #expect(tailLines.last == "", "tail=2 output does not end with a newline: \(tail.text)")
            let tailCounts = counts(in: tail.text)
            #expect(tailCounts.count == 2, "tail counts \(tailCounts)")
            #expect(
                tailCounts.last == tailCounts.first.map { $0 + 1 }, "tail counts are not consecutive: \(tailCounts)")
            for line in tailLines.dropLast() {
                let stamp = line.split(separator: " ").first.map(String.init) ?? ""
                #expect(stamp.hasSuffix("Z"), "line without a host timestamp: \(line)")
                #expect(RFC3339.parse(stamp) != nil, "line with an invalid host timestamp: \(line)")
            }
            let lastSeen = tailCounts.last ?? 0

            let stream = try WireConnection(port: server.port)
            try stream.send(
                "GET /instances/talker/logs?follow=true&tail=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer \(client.token)\r\nConnection: close\r\n\r\n")
            let followed = try stream.readStream(timeout: .seconds(15)) { text in
                counts(in: text).contains { $0 > lastSeen + 2 }
            }
            #expect(followed.response.status == 200)
            #expect(followed.response.headers["transfer-encoding"] == "chunked")
            #expect(!followed.ended, "the stream ended while the guest runs")
            #expect(
                counts(in: followed.response.text).allSatisfy { $0 > lastSeen }, "follow with tail=0 repeated old lines"
            )

            #expect(try client.send("DELETE", "/instances/\(view.id)").status == 204)
            let ended = try stream.readStream(timeout: .seconds(15)) { _ in false }
            #expect(ended.ended, "the stream did not end after the instance was deleted")
        }

        @Test func waitReportsReached() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let client = server.client
            var body = createBody(name: "waiter")
            body["wait_for"] = nil
            let started = try client.instance("POST", "/instances", json: body, expecting: 201)
            #expect(["Initializing", "Running"].contains(started.state))

            let reached = try client.send(
                "GET", "/instances/waiter/wait?state=running&timeout=90", timeout: .seconds(100))
            #expect(reached.status == 200)
            let reachedObject = try reached.json() as? [String: Any]
            #expect(reachedObject?["reached"] as? Bool == true)
            #expect((reachedObject?["instance"] as? [String: Any])?["state"] as? String == "Running")

            let start = ContinuousClock.now
            let missed = try client.send("GET", "/instances/waiter/wait?state=Standby&timeout=1")
            #expect(ContinuousClock.now - start >= .seconds(1))
            #expect(missed.status == 200)
            let missedObject = try missed.json() as? [String: Any]
            #expect(missedObject?["reached"] as? Bool == false)
            #expect((missedObject?["instance"] as? [String: Any])?["state"] as? String == "Running")

            _ = try client.instance("POST", "/instances/waiter/pause")
            let paused = try client.send("GET", "/instances/waiter/wait?state=paused&timeout=0")
            #expect((try paused.json() as? [String: Any])?["reached"] as? Bool == true)
        }
    }
}

/// Returns the pids of the zombie children of `parent`, read from `/proc/PID/stat`.
private func zombieChildren(of parent: pid_t) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let commandEnd = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name: state, then the parent's pid.
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count > 1, fields[0] == "Z", pid_t(fields[1]) == parent else { return nil }
        return pid
    }
}
