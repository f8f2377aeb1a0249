import Foundation
import Testing

@testable import Hypervisor

/// QMPClient against a scripted server, for the orderings that real QEMU produces only by chance.
@Suite struct QMPClientProtocolTests {
    @Test func replyIsMatchedByIDPastEventsAndStaleReplies() throws {
        let directory = try TemporaryDirectory()
        let server = try FakeQMPServer(socketPath: directory.file("qmp")) { request in
            [
                #"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}"#,
                #"{"return": {"status": "stale"}, "id": 999}"#,
                #"{"event": "RESUME", "timestamp": {"seconds": 3, "microseconds": 4}}"#,
                #"{"return": {"status": "running", "echo": "\#(request["execute"]?.string ?? "")"}, "id": $ID}"#,
            ]
        }
        let client = try QMPClient(socketPath: server.socketPath, timeout: .seconds(5))
        defer { client.close() }

        let reply = try client.execute("query-status")
        #expect(reply["status"]?.string == "running")
        #expect(reply["echo"]?.string == "query-status")

        let first = try #require(try client.nextEvent(timeout: .seconds(1)))
        #expect(first["event"]?.string == "STOP")
        #expect(first["timestamp"]?["microseconds"]?.int == 2)
        let second = try #require(try client.nextEvent(timeout: .seconds(1)))
        #expect(second["event"]?.string == "RESUME")
    }

    @Test func waitForEventKeepsOtherEventsQueued() throws {
        let directory = try TemporaryDirectory()
        let server = try FakeQMPServer(socketPath: directory.file("qmp")) { _ in
            [
                #"{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 0}}"#,
                #"{"event": "SHUTDOWN", "timestamp": {"seconds": 2, "microseconds": 0}, "data": {"guest": true}}"#,
                #"{"return": {}, "id": $ID}"#,
            ]
        }
        let client = try QMPClient(socketPath: server.socketPath, timeout: .seconds(5))
        defer { client.close() }

        try client.execute("stop")
        let shutdown = try #require(try client.waitForEvent(named: "SHUTDOWN", timeout: .seconds(1)))
        #expect(shutdown["data"]?["guest"]?.bool == true)
        #expect(try client.nextEvent(timeout: .seconds(1))?["event"]?.string == "STOP")
        #expect(try client.waitForEvent(named: "RESUME", timeout: .milliseconds(100)) == nil)
    }

    @Test func errorReplyThrowsWithClassAndDescription() throws {
        let directory = try TemporaryDirectory()
        let server = try FakeQMPServer(socketPath: directory.file("qmp")) { _ in
            [#"{"error": {"class": "GenericError", "desc": "Migration is disabled"}, "id": $ID}"#]
        }
        let client = try QMPClient(socketPath: server.socketPath, timeout: .seconds(5))
        defer { client.close() }

        do {
            try client.execute("migrate", arguments: ["uri": "fd:x"])
            Issue.record("execute returned although the reply was an error")
        } catch let error as HypervisorError {
            #expect(error.code == .commandFailed)
            #expect(error.qmpErrorClass == "GenericError")
            #expect(error.message.contains("Migration is disabled"))
            #expect(error.message.contains("migrate"))
        }
    }

    @Test func quitToleratesSocketClosingBeforeReply() throws {
        let directory = try TemporaryDirectory()
        let server = try FakeQMPServer(socketPath: directory.file("qmp")) { _ in
            [#"{"event": "SHUTDOWN", "timestamp": {"seconds": 1, "microseconds": 0}}"#, "$CLOSE"]
        }
        let machine = try QEMUMachine(qmpSocketPath: server.socketPath, connectTimeout: .seconds(5))

        try machine.quit()
        #expect(machine.waitForExit(timeout: .seconds(1)))
        #expect(try machine.client.waitForEvent(named: "SHUTDOWN", timeout: .seconds(1)) != nil)
        #expect {
            try machine.status()
        } throws: { error in
            (error as? HypervisorError)?.code == .disconnected
        }
    }

    @Test func missingReplyTimesOut() throws {
        let directory = try TemporaryDirectory()
        let server = try FakeQMPServer(socketPath: directory.file("qmp")) { _ in [] }
        let client = try QMPClient(socketPath: server.socketPath, timeout: .seconds(5))
        defer { client.close() }

        #expect {
            try client.execute("query-status", timeout: .milliseconds(200))
        } throws: { error in
            (error as? HypervisorError)?.code == .timedOut
        }
    }

    @Test func connectTimesOutWithoutSocket() throws {
        let directory = try TemporaryDirectory()
        let start = ContinuousClock.now
        #expect {
            try QMPClient(socketPath: directory.file("absent"), timeout: .milliseconds(300))
        } throws: { error in
            (error as? HypervisorError)?.code == .timedOut
        }
        #expect(ContinuousClock.now - start >= .milliseconds(300))
    }

    @Test func socketPathOverLimitIsRejected() {
        let path = "/tmp/" + String(repeating: "a", count: 103)
        #expect {
            try QMPClient(socketPath: path, timeout: .seconds(1))
        } throws: { error in
            let error = error as? HypervisorError
            return error?.code == .invalidArgument && error?.message.contains("108 bytes") == true
        }
    }
}
