import Foundation
import Instances
import Testing

/// Forks from a source in standby and from a stopped source, into each target they allow.
@Suite(.serialized) struct ForkTargetTests {
    @Test func forkFromStandbyKeepsMemory() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "parked", "--"] + counterProgram)
        sleep(1)
        try stint.succeed(["standby", "parked"])
        let sourceBefore = try stint.inspect("parked")

        #expect(try stint.succeed(["fork", "parked", "--name", "parked-copy"]) == "parked-copy Standby\n")
        let fork = try stint.inspect("parked-copy")
        #expect(fork.hasSnapshot)
        #expect(Set((fork.phaseDurationsMilliseconds ?? [:]).keys).isSubset(of: ["created", "standby"]))
        let source = try stint.inspect("parked")
        #expect(source.state == "Standby")
        #expect(source.hasSnapshot)
        #expect(
            (source.phaseDurationsMilliseconds?["running"] ?? -1)
                == (sourceBefore.phaseDurationsMilliseconds?["running"] ?? 0))

        try stint.succeed(["restore", "parked-copy"])
        #expect(try stint.inspect("parked-copy").state == "Running")
        let forkID = fork.id
        let counted = stint.waitUntil(timeout: .seconds(10)) { !counts(in: stint.serialLog(forkID)).isEmpty }
        #expect(counted)
        #expect((counts(in: stint.serialLog(forkID)).first ?? 0) > 1, "the fork restarted its program")

        try stint.succeed(["restore", "parked"])
        #expect(try stint.inspect("parked").state == "Running")

        #expect(
            try stint.succeed(["fork", "parked", "--name", "parked-cold", "--target", "stopped"])
                == "parked-cold Stopped\n")
        #expect(!(try stint.inspect("parked-cold").hasSnapshot))
    }

    @Test func forkFromStoppedBootsAfresh() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "resting", "--"] + counterProgram)
        try stint.succeed(["stop", "resting", "--timeout", "0"])

        let refused = try stint.run(["fork", "resting", "--name", "resting-standby", "--target", "standby"])
        #expect(refused.exitCode == 64)
        #expect(refused.errorOutput.contains("resting"))
        #expect(try stint.list().count == 1)

        #expect(try stint.succeed(["fork", "resting", "--name", "resting-copy"]) == "resting-copy Stopped\n")
        try stint.succeed(["fork", "resting", "--name", "resting-live", "--target", "running"])
        let live = try stint.inspect("resting-live")
        #expect(["Initializing", "Running"].contains(live.state))
        let running = try stint.waitUntil(timeout: .seconds(60)) {
            try stint.inspect("resting-live").state == "Running"
        }
        #expect(running)
        let liveID = live.id
        let counted = stint.waitUntil(timeout: .seconds(10)) { counts(in: stint.serialLog(liveID)).first == 1 }
        #expect(counted, "a fork of a stopped instance boots its program from the start")
        #expect(try stint.inspect("resting").state == "Stopped")
    }
}
