import Foundation
import Instances
import StintTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// A process killed between its metadata write and its journal write leaves the journal behind. The next
    /// read or operation copies the entries in the metadata's outbox, each exactly once.
    @Suite struct CrashConsistencyTests {
        @Test func journalCatchesUpAfterCrash() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let id = try workspace.succeed(["run", "--name", "crashy", "--"] + idleProgram)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(InstanceIdentity.isValidID(id))
            // `stint run` returns once the monitor has written the running transition to the metadata, and the
            // monitor writes the journal a moment later.
            var booted: [JournalEntry] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while booted.count < 3, ContinuousClock.now < deadline {
                usleep(20_000)
                booted = try workspace.journalEntries(id)
            }
            #expect(booted.map(\.to) == ["created", "initializing", "running"])

            // STINT_FAULT_POINT makes the CLI kill itself with SIGKILL right after the durable metadata write.
            let crashed = try workspace.run(
                ["pause", "crashy"], environment: ["STINT_FAULT_POINT": "journal.after-metadata"])
            #expect(crashed.termination == .signaled(SIGKILL), "pause \(crashed.termination?.description ?? "hung")")
            let outbox = try #require(try workspace.metadata(id)["journal_outbox"] as? [[String: Any]])
            // The outbox keeps the entries that no synced journal commit has covered yet, the pause last.
            #expect(outbox.compactMap { $0["sequence"] as? Int }.last == 4)
            #expect(outbox.compactMap { $0["to"] as? String }.last == "paused")
            #expect(try workspace.journalEntries(id).map(\.sequence) == [1, 2, 3], "the journal is not behind")

            // A read of the feed copies the outbox, and a second read stores nothing twice.
            for _ in 0..<2 {
                let output = try workspace.succeed(["transitions", "crashy", "--output", "json"])
                let entries = try output.split(separator: "\n").map {
                    try JSONDecoder().decode(JournalEntry.self, from: Data($0.utf8))
                }
                #expect(entries.map(\.sequence) == [1, 2, 3, 4])
                #expect(entries.last?.to == "paused")
            }
            let repaired = try workspace.journalEntries(id)
            #expect(repaired.map(\.sequence) == [1, 2, 3, 4])
            let pause = try #require(repaired.last)

            // Usage ends the running interval at the pause, not at the time of the query.
            let now = wallNanosecondsNow()
            let usageOutput = try workspace.succeed([
                "usage", "--from", timestamp(now - 600_000_000_000), "--to", timestamp(now), "--instance", "crashy",
                "--output", "json",
            ])
            let rows = try JSONDecoder().decode([UsageReport.Row].self, from: Data(usageOutput.utf8))
            let running = rows.first { $0.phase == "running" }?.milliseconds
            #expect(running == pause.previousPhaseNanoseconds / 1_000_000, "usage rows \(rows)")
            #expect((rows.first { $0.phase == "paused" }?.milliseconds ?? 0) > 0)

            // The next operation copies the outbox again under the lock and records its own transition once.
            try workspace.succeed(["resume", "crashy"])
            let afterResume = try workspace.journalEntries(id)
            #expect(afterResume.map(\.sequence) == [1, 2, 3, 4, 5])
            #expect(afterResume.map(\.to) == ["created", "initializing", "running", "paused", "running"])
            #expect(Array(afterResume.prefix(4)) == repaired)
            let view = try JSONDecoder().decode(
                InstanceView.self, from: Data(try workspace.succeed(["inspect", "crashy", "--output", "json"]).utf8))
            #expect(view.currentPhase == "running")
            let resume = try #require(afterResume.last)
            #expect(view.phaseDurationsMilliseconds?["paused"] == resume.previousPhaseNanoseconds / 1_000_000)
        }
    }
}
