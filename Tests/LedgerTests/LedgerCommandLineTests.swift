import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// `stint usage` and `stint transitions` print the same on the data directory and through `--host`.
    @Suite struct LedgerCommandLineTests {
        @Test func localAndRemoteRowsMatch() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client
            let remote = ["--host", "http://127.0.0.1:\(server.port)"]

            let keptID = try createRunningInstance(client, name: "kept").id
            let removedID = try createRunningInstance(client, name: "removed").id
            try perform("pause", on: keptID, client)
            try perform("resume", on: keptID, client)
            try perform("stop", on: removedID, client)
            #expect(try client.send("DELETE", "/instances/\(removedID)").status == 204)

            // A window that ends in the past gives fixed rows even for the instance that still runs.
            let to = wallNanosecondsNow()
            let window = ["--from", timestamp(to - 600_000_000_000), "--to", timestamp(to)]
            var outputs: [String: String] = [:]
            for format in ["csv", "json", "table"] {
                let arguments = ["usage"] + window + ["--output", format]
                let local = try workspace.succeed(arguments)
                let viaServer = try workspace.succeed(remote + arguments)
                #expect(local == viaServer, "usage --output \(format) differs")
                outputs[format] = local
            }

            let rows = try JSONDecoder().decode([UsageReport.Row].self, from: Data((outputs["json"] ?? "").utf8))
            #expect(Set(rows.map(\.instanceID)) == [keptID, removedID])
            #expect(rows.contains { $0.instanceID == keptID && $0.phase == "paused" })
            #expect(rows.contains { $0.instanceID == removedID && $0.phase == "stopped" })
            let csvLines = (outputs["csv"] ?? "").split(separator: "\n")
            #expect(csvLines.first == "instance_id,instance_name,phase,from,to,milliseconds,idempotency_key")
            #expect(csvLines.count == rows.count + 1)
            for row in rows {
                #expect(csvLines.contains { $0.hasSuffix(",\(row.milliseconds),\(row.idempotencyKey)") })
                #expect((outputs["table"] ?? "").contains(row.idempotencyKey.split(separator: "/")[0]))
            }
            let tableLines = (outputs["table"] ?? "").split(separator: "\n")
            #expect(tableLines.count == rows.count + 1)

            let instanceRows = try workspace.succeed(
                ["usage"] + window + ["--instance", "removed", "--output", "json"])
            #expect(
                instanceRows
                    == (try workspace.succeed(
                        remote + ["usage"] + window + ["--instance", removedID, "--output", "json"])))
            #expect(
                try JSONDecoder().decode([UsageReport.Row].self, from: Data(instanceRows.utf8))
                    == rows.filter { $0.instanceID == removedID })

            for reference in [keptID, "kept", removedID, "removed"] {
                for format in ["table", "json"] {
                    let arguments = ["transitions", reference, "--output", format]
                    let local = try workspace.succeed(arguments)
                    #expect(local == (try workspace.succeed(remote + arguments)), "transitions \(reference) \(format)")
                    #expect(local.split(separator: "\n").count >= 4, "transitions \(reference): \(local)")
                }
            }
            let removedEntries = try workspace.succeed(["transitions", removedID, "--output", "json"])
                .split(separator: "\n").map { try JSONDecoder().decode(JournalEntry.self, from: Data($0.utf8)) }
            #expect(removedEntries.last?.to == "deleted")
            #expect(removedEntries.map(\.sequence) == Array(1...removedEntries.count))
            let tail = try workspace.succeed(["transitions", "kept", "--after", "3", "--output", "json"])
            #expect(tail.split(separator: "\n").count == 2, "after 3: \(tail)")
        }
    }
}
