import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// Restarting the server never lowers a phase total, on the API or in `/metrics`.
    @Suite struct RestartCounterTests {
        struct Totals {
            var view: [String: Int64]
            var metrics: [String: Double]
        }

        static func readTotals(_ server: LedgerServer, _ id: String) throws -> Totals {
            let view = try server.client.decode(InstanceView.self, "GET", "/instances/\(id)")
            let metrics = try server.client.send("GET", "/metrics")
            guard metrics.status == 200 else { throw TestFailure("GET /metrics returned \(metrics.status)") }
            return Totals(
                view: view.phaseDurationsMilliseconds ?? [:],
                metrics: try parseMetricSamples(metrics.text).phaseValues(
                    "stint_instance_phase_seconds_total", instanceID: id))
        }

        /// Checks that no total fell, that the phases in `closed` kept their exact value, and that `live` grew.
        static func expectNoDrop(_ before: Totals, _ after: Totals, closed: [String], live: String) {
            for (phase, milliseconds) in before.view {
                #expect((after.view[phase] ?? -1) >= milliseconds, "phase_durations_ms[\(phase)] dropped")
            }
            for (phase, seconds) in before.metrics {
                #expect((after.metrics[phase] ?? -1) >= seconds, "stint_instance_phase_seconds_total[\(phase)] dropped")
            }
            for phase in closed {
                #expect(after.view[phase] == before.view[phase], "closed phase \(phase) changed")
                #expect(after.metrics[phase] == before.metrics[phase], "closed phase \(phase) changed in /metrics")
            }
            #expect((after.view[live] ?? 0) > (before.view[live] ?? 0), "live phase \(live) did not grow")
            #expect((after.metrics[live] ?? 0) > (before.metrics[live] ?? 0), "live phase \(live) did not grow")
        }

        @Test func totalsSurviveRestart() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            var server = try LedgerServer(workspace)
            defer { server.stop() }

            let id = try createRunningInstance(server.client, name: "steady").id
            try perform("pause", on: id, server.client)
            usleep(300_000)
            try perform("resume", on: id, server.client)
            usleep(500_000)

            let whileRunning = try Self.readTotals(server, id)
            #expect(whileRunning.metrics.count == 7, "one sample per phase: \(whileRunning.metrics)")
            #expect(server.stop() == .exited(0), "stint serve: \(server.process.errorOutput)")
            server = try LedgerServer(workspace)
            let afterFirstRestart = try Self.readTotals(server, id)
            Self.expectNoDrop(
                whileRunning, afterFirstRestart, closed: ["created", "initializing", "paused"], live: "running")

            // The same with the hypervisor gone: standby accrues from metadata alone.
            try perform("standby", on: id, server.client)
            usleep(300_000)
            let inStandby = try Self.readTotals(server, id)
            #expect(server.stop() == .exited(0), "stint serve: \(server.process.errorOutput)")
            server = try LedgerServer(workspace)
            let afterSecondRestart = try Self.readTotals(server, id)
            Self.expectNoDrop(
                inStandby, afterSecondRestart, closed: ["created", "initializing", "paused", "running"],
                live: "standby")
        }
    }
}
