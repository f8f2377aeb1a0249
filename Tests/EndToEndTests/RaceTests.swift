import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Conflicting operations from two CLI processes and the server on one instance, and independent operations on two.
@Suite(.serialized) struct RaceTests {
    static let rounds = 100

    @Test func conflictingOperationsStayWhole() throws {
        let stint = try StintHarness()
        let (server, url) = try RemoteCommandLineTests.startServer(stint)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let id = try stint.succeed(["run", "--name", "contested", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        var succeeded = 0
        for round in 0..<Self.rounds {
            let commands: [[String]] = [
                ["pause", "contested"], ["resume", "contested"],
                ["--host", url, round.isMultiple(of: 2) ? "pause" : "resume", "contested"],
            ]
            let processes = try commands.map { arguments -> (Process, Pipe) in
                let process = try stint.launch(arguments)
                let errors = Pipe()
                process.standardOutput = FileHandle.nullDevice
                process.standardError = errors
                try process.run()
                return (process, errors)
            }
            for (process, errors) in processes {
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                if process.terminationStatus == 0 {
                    succeeded += 1
                } else {
                    #expect(process.terminationStatus == 1, "round \(round): exit \(process.terminationStatus)")
                    #expect(message.contains("contested") || message.contains("busy"), "round \(round): '\(message)'")
                }
            }
            let view = try stint.inspect(id)
            #expect(
                ["Running", "Paused"].contains(view.state), "round \(round): \(view.state) \(view.stateError ?? "")")
        }
        #expect(succeeded >= Self.rounds)

        // Every transition is in the journal exactly once, in sequence, and the tracker agrees with it.
        let metadata = try stint.metadata(id)
        let phases = try #require(metadata["phases"] as? [String: Any])
        let transitionCount = try #require(phases["transitions"] as? Int)
        let feed = try stint.succeed(["transitions", "contested", "--output", "json"])
        let sequences = feed.split(separator: "\n").compactMap { line -> Int? in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["sequence"] as? Int
        }
        #expect(sequences == Array(1...transitionCount))
        // Entries stay in the outbox after they reached the journal, until an append that syncs the journal.
        let outbox = (metadata["journal_outbox"] as? [[String: Any]] ?? []).compactMap { $0["sequence"] as? Int }
        #expect(Set(outbox).isSubset(of: Set(sequences)))
    }

    @Test func differentInstancesDoNotWait() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "slow", "--"] + counterProgram)
        try stint.succeed(["run", "--name", "quick", "--"] + counterProgram)

        let standby = try stint.launch(["standby", "slow"])
        standby.environment?["STINT_FAULT_DELAY"] = "standby.after-intent:4"
        standby.standardOutput = FileHandle.nullDevice
        try standby.run()
        let slowID = try stint.inspect("slow").id
        let inFlight = try stint.waitUntil(timeout: .seconds(10)) {
            (try stint.metadata(slowID)["pending_operation"] as? [String: Any]) != nil
        }
        #expect(inFlight, "the standby never started")

        try stint.succeed(["pause", "quick"])
        try stint.succeed(["resume", "quick"])
        let slowStillPending = (try stint.metadata(slowID)["pending_operation"] as? [String: Any]) != nil
        #expect(slowStillPending, "operations on 'quick' waited for the standby of 'slow'")

        standby.waitUntilExit()
        #expect(standby.terminationStatus == 0)
        #expect(try stint.inspect("slow").state == "Standby")
    }
}
