import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension GuestTests {
    /// The server process around long operations: concurrency, SIGTERM and restarts.
    @Suite struct ServerProcessTests {
        /// `GET /instances` does not wait for the instance lock that a standby holds.
        @Test func listAnswersDuringStandby() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            defer { server.client.deleteAll() }
            let client = server.client
            _ = try client.instance("POST", "/instances", json: createBody(name: "parked"), expecting: 201)

            let events = EventLog()
            let standby = Thread {
                events.record("standby sent")
                let response = try? client.send("POST", "/instances/parked/standby")
                events.record(response?.status == 200 ? "standby done" : "standby failed")
            }
            standby.start()
            while events.first("standby sent") == nil {
                usleep(1_000)
            }
            while events.first("standby done") == nil, events.first("standby failed") == nil {
                let response = try client.send("GET", "/instances", timeout: .seconds(30))
                #expect(response.status == 200)
                events.record("list answered")
            }

            #expect(events.first("standby failed") == nil)
            let sent = try #require(events.first("standby sent"))
            let done = try #require(events.first("standby done"))
            let during = events.all("list answered").filter { $0 > sent && $0 < done }
            #expect(!during.isEmpty, "no list answer arrived while the standby was in flight")
            #expect(try client.instance("GET", "/instances/parked").state == "Standby")
        }

        /// SIGTERM lets a `POST /instances` in flight finish with 201; the server exits 0 and the guest keeps running.
        @Test func sigtermFinishesCreateInFlight() throws {
            let directory = try TestDataDirectory()
            let server = try StintServer(directory: directory)
            let client = server.client

            let events = EventLog()
            let result = ResponseBox()
            let create = Thread {
                events.record("create sent")
                result.store(Result { try client.send("POST", "/instances", json: createBody(name: "survivor")) })
                events.record("create answered")
            }
            create.start()
            let appeared = ContinuousClock.now + .seconds(30)
            while directory.instanceIDs().isEmpty, ContinuousClock.now < appeared {
                usleep(20_000)
            }
            let id = try #require(directory.instanceIDs().first, "the create request made no instance")
            #expect(events.first("create answered") == nil, "create finished before SIGTERM; the test proves nothing")
            events.record("sigterm sent")
            let exitCode = server.terminate(timeout: .seconds(120))
            events.record("server exited")

            #expect(
                exitCode == 0,
                "stint serve exit code \(exitCode.map(String.init) ?? "none"); stderr: \(server.process.errorOutput)")
            while events.first("create answered") == nil {
                usleep(20_000)
            }
            let response = try #require(try result.load()?.get())
            #expect(response.status == 201, "create answered \(response.status): \(response.text)")
            #expect(try response.decode(InstanceView.self).state == "Running")
            let answered = try #require(events.first("create answered"))
            let signalled = try #require(events.first("sigterm sent"))
            #expect(answered > signalled)

            let hypervisor = try #require(try directory.hypervisorPID(id), "no QEMU pid in the metadata")
            #expect(kill(hypervisor, 0) == 0, "QEMU \(hypervisor) died with the server")
            let removal = try runStint(["rm", "--force", id], directory: directory)
            #expect(removal.code == 0, "stint rm failed: \(removal.output)")
            usleep(200_000)
            #expect(kill(hypervisor, 0) != 0, "QEMU \(hypervisor) still runs after stint rm --force")
        }

        /// A second server on the same data directory continues every instance's totals without a gap.
        @Test func restartKeepsTotals() throws {
            let directory = try TestDataDirectory()
            let first = try StintServer(directory: directory, token: nil)
            defer { first.client.deleteAll() }
            #expect(first.client.token.count >= 16, "no token in \(directory.path)/api-token")
            let tokenMode = try FileManager.default.attributesOfItem(atPath: directory.path + "/api-token")[
                .posixPermissions]
            #expect((tokenMode as? Int) == 0o600)

            _ = try first.client.instance("POST", "/instances", json: createBody(name: "steady"), expecting: 201)
            let before = try timedInstance(first.client, "GET", "/instances/steady")
            #expect(first.terminate(timeout: .seconds(30)) == 0)
            usleep(500_000)

            let second = try StintServer(directory: directory, token: nil)
            defer { second.client.deleteAll() }
            #expect(second.client.token == first.client.token)
            let after = try timedInstance(second.client, "GET", "/instances/steady")

            #expect(after.view.currentPhaseSince == before.view.currentPhaseSince)
            expectPhaseFields(after.view, phase: "running", sentAt: after.sentAt, receivedAt: after.receivedAt)
            let durationsBefore = before.view.phaseDurationsMilliseconds ?? [:]
            let durationsAfter = after.view.phaseDurationsMilliseconds ?? [:]
            for (phase, milliseconds) in durationsBefore {
                #expect(
                    (durationsAfter[phase] ?? -1) >= milliseconds,
                    "\(phase) went from \(milliseconds) to \(durationsAfter[phase] ?? -1)")
            }
            let elapsed = (after.sentAt - before.receivedAt) / 1_000_000
            let runningGain = (durationsAfter["running"] ?? 0) - (durationsBefore["running"] ?? 0)
            #expect(runningGain >= elapsed - 50, "running grew by \(runningGain) ms across \(elapsed) ms of restart")
        }
    }
}
