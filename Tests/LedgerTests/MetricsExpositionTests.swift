import Foundation
import Instances
import StintTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// `GET /metrics`: valid for promtool, one current phase per instance, and transition counts from the journal.
    @Suite struct MetricsExpositionTests {
        /// Runs `promtool check metrics` with `text` on standard input and returns its exit status and output.
        static func promtoolCheck(_ text: String, _ workspace: LedgerWorkspace) throws -> (Termination?, String) {
            let promtool = try requiredTool("promtool", package: "prometheus")
            let input = workspace.scratchDirectory + "/metrics-\(UUID().uuidString).txt"
            try Data(text.utf8).write(to: URL(fileURLWithPath: input))
            let child = try ChildProcess(
                executable: "/bin/sh", arguments: ["-c", "exec \"$0\" check metrics < \"$1\"", promtool, input],
                environment: ProcessInfo.processInfo.environment, outputPath: input + ".out", errorPath: input + ".err")
            let termination = child.wait(timeout: .seconds(60))
            return (termination, child.output + child.errorOutput)
        }

        static func checkExposition(
            _ server: LedgerServer, _ workspace: LedgerWorkspace, views: [InstanceView]
        ) throws -> [MetricSample] {
            let reply = try server.client.send("GET", "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            let (termination, complaints) = try promtoolCheck(reply.text, workspace)
            #expect(termination == .exited(0), "promtool: \(complaints)")
            #expect(complaints.isEmpty, "promtool: \(complaints)")

            let samples = try parseMetricSamples(reply.text)
            let current = samples.filter { $0.name == "stint_instance_current_phase" }
            #expect(Set(current.compactMap { $0.labels["instance_id"] }) == Set(views.map(\.id)))
            for view in views {
                let phases = samples.phaseValues("stint_instance_current_phase", instanceID: view.id)
                #expect(phases.count == 7, "\(view.id): \(phases)")
                #expect(phases.values.allSatisfy { $0 == 0 || $0 == 1 })
                #expect(phases.filter { $0.value == 1 }.map(\.key) == [view.currentPhase ?? "none"], "\(phases)")
                for sample in current where sample.labels["instance_id"] == view.id {
                    #expect(sample.labels["name"] == view.name)
                }
            }

            let feed = try server.client.decode(TransitionsReply.self, "GET", "/transitions?after=0&limit=1000")
            var journalCounts: [String: Double] = [:]
            for entry in feed.transitions {
                journalCounts[entry.to, default: 0] += 1
            }
            var exported: [String: Double] = [:]
            for sample in samples where sample.name == "stint_transitions_total" {
                exported[sample.labels["phase"] ?? ""] = sample.value
            }
            #expect(exported == journalCounts)
            return samples
        }

        @Test func metricsAgreeWithJournal() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client

            let alpha = try createRunningInstance(client, name: "alpha").id
            let beta = try createRunningInstance(client, name: "beta").id
            try perform("pause", on: alpha, client)
            try perform("stop", on: beta, client)
            // An operation through the server fills the operation histogram, which promtool checks too.
            let views = try client.decode([InstanceView].self, "GET", "/instances")
            #expect(views.map(\.currentPhase) == ["paused", "stopped"])
            let samples = try Self.checkExposition(server, workspace, views: views)

            // For closed phases /metrics exports the tracker's exact seconds, and the API their floor in ms.
            for view in views {
                let seconds = samples.phaseValues("stint_instance_phase_seconds_total", instanceID: view.id)
                for (phase, milliseconds) in view.phaseDurationsMilliseconds ?? [:] where phase != view.currentPhase {
                    let exported = Int64(((seconds[phase] ?? -1) * 1000).rounded(.down))
                    #expect(abs(exported - milliseconds) <= 1, "\(view.name ?? view.id) \(phase): \(exported) ms")
                }
            }
            #expect(samples.contains { $0.name == "stint_operation_duration_seconds_count" })
            #expect(samples.contains { $0.name == "process_start_time_seconds" })

            let deleted = try client.send("DELETE", "/instances/beta")
            #expect(deleted.status == 204)
            let remaining = try client.decode([InstanceView].self, "GET", "/instances")
            let afterDelete = try Self.checkExposition(server, workspace, views: remaining)
            #expect(!afterDelete.contains { $0.labels["instance_id"] == beta })
            #expect(
                afterDelete.contains {
                    $0.name == "stint_transitions_total" && $0.labels["phase"] == "deleted" && $0.value == 1
                })
        }
    }
}
