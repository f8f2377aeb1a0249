import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A guest program that prints a counter five times a second, so a test can see whether it continued or restarted.
let counterProgram = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo count=$i; sleep 0.2; done"]

/// The counter values the guest printed, in order.
func counts(in log: String) -> [Int] {
    log.split(separator: "\n").compactMap { line in
        guard let range = line.range(of: "count=") else { return nil }
        return Int(line[range.upperBound...])
    }
}

/// End-to-end scenarios against real QEMU guests (TCG), one at a time because each boots a guest.
@Suite(.serialized) struct LifecycleTests {
    @Test func runReachesRunningAndAccrues() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "web", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(InstanceIdentity.isValidID(id))

        let first = try stint.inspect("web")
        #expect(first.state == "Running")
        #expect(first.currentPhase == "running")
        #expect((first.phaseDurationsMilliseconds?["initializing"] ?? 0) > 0)
        sleep(1)
        let second = try stint.inspect(id)
        let runningBefore = first.phaseDurationsMilliseconds?["running"] ?? 0
        let runningAfter = second.phaseDurationsMilliseconds?["running"] ?? 0
        #expect(runningAfter >= runningBefore + 900)
        #expect(second.currentPhaseSince == first.currentPhaseSince)

        let listed = try stint.list()
        #expect(listed.map(\.name) == ["web"])
        #expect(listed.first?.phaseDurationsMilliseconds != nil)
        #expect(stint.serialLog(id).contains("count="))
    }

    @Test func standbyThenRestoreContinuesProgram() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "sleeper", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        sleep(2)
        let hypervisor = try stint.hypervisorPID(id)

        try stint.succeed(["standby", "sleeper"])
        let parked = try stint.inspect("sleeper")
        #expect(parked.state == "Standby")
        #expect(parked.currentPhase == "standby")
        #expect(parked.hasSnapshot)
        #expect((parked.phaseDurationsMilliseconds?["running"] ?? 0) > 0)
        if let hypervisor { #expect(kill(hypervisor, 0) != 0, "QEMU \(hypervisor) still runs after standby") }
        let before = counts(in: stint.serialLog(id))
        sleep(1)

        try stint.succeed(["restore", "sleeper"])
        let restored = try stint.inspect("sleeper")
        #expect(restored.state == "Running")
        #expect(restored.currentPhase == "running")
        #expect(!restored.hasSnapshot)
        #expect((restored.phaseDurationsMilliseconds?["standby"] ?? 0) >= 900)
        #expect(
            (restored.phaseDurationsMilliseconds?["running"] ?? 0)
                == (parked.phaseDurationsMilliseconds?["running"] ?? -1)
                || restored.phaseDurationsMilliseconds?["running"] ?? 0
                    < (parked.phaseDurationsMilliseconds?["running"] ?? 0) + 1_000
        )

        let lastBefore = before.last ?? 0
        let continued = stint.waitUntil(timeout: .seconds(10)) {
            counts(in: stint.serialLog(id)).count > before.count + 2
        }
        #expect(continued, "the guest printed nothing after restore")
        let after = Array(counts(in: stint.serialLog(id)).dropFirst(before.count))
        #expect(lastBefore > 0)
        #expect(after.first.map { $0 > lastBefore } == true, "counter restarted: before \(lastBefore), after \(after)")
    }

    @Test func forkFromRunningStartsEmpty() throws {
        let stint = try StintHarness()
        let sourceID = try stint.succeed(["run", "--name", "origin", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        sleep(2)
        let sourceBefore = try stint.inspect("origin")

        try stint.succeed(["fork", "origin", "--name", "copy", "--target", "running"])
        let fork = try stint.inspect("copy")
        let source = try stint.inspect("origin")

        #expect(fork.state == "Running")
        #expect(fork.forkedFrom == sourceID)
        let forkDurations = fork.phaseDurationsMilliseconds ?? [:]
        #expect(Set(forkDurations.keys).isSubset(of: ["created", "running"]))
        #expect((forkDurations["running"] ?? 0) < 2_000)
        #expect(
            fork.createdAt.flatMap { created in fork.currentPhaseSince.flatMap { millisecondsBetween(created, $0) } }
                .map { $0 < 10_000 } == true)

        #expect(source.state == "Running")
        for (phase, milliseconds) in sourceBefore.phaseDurationsMilliseconds ?? [:] {
            #expect((source.phaseDurationsMilliseconds?[phase] ?? 0) >= milliseconds, "source lost \(phase) time")
        }
        #expect((source.phaseDurationsMilliseconds?["paused"] ?? 0) > 0)
        #expect(source.phaseDurationsMilliseconds?["standby"] == nil)

        let forkID = fork.id
        let forkCounted = stint.waitUntil(timeout: .seconds(10)) { !counts(in: stint.serialLog(forkID)).isEmpty }
        #expect(forkCounted)
        #expect(
            (counts(in: stint.serialLog(forkID)).first ?? 0) > 1, "the fork's program restarted instead of continuing")
    }

    @Test func guestPowerOffRecordsStopped() throws {
        let stint = try StintHarness()
        let id = try stint.succeed([
            "run", "--name", "oneshot", "--wait", "initializing", "--", "sh", "-c", "sleep 2; echo bye",
        ])
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let hypervisor = try #require(try stint.hypervisorPID(id))
        var exitedAt: Int64 = 0
        let exited = stint.waitUntil(timeout: .seconds(60)) {
            guard kill(hypervisor, 0) != 0 || isZombie(hypervisor) else { return false }
            exitedAt = wallNanosecondsNow()
            return true
        }
        #expect(exited)
        let stopped = try stint.waitUntil(timeout: .seconds(5)) { try stint.inspect(id).state == "Stopped" }
        #expect(stopped)
        let view = try stint.inspect(id)
        let since = try #require(view.currentPhaseSince.flatMap(parseTimestamp))
        #expect(
            abs(since - exitedAt) < 1_000_000_000, "stopped at \(view.currentPhaseSince ?? "-"), exit seen \(exitedAt)")
        #expect((view.phaseDurationsMilliseconds?["running"] ?? 0) >= 1_500)
        #expect(stint.serialLog(id).contains("bye"))
    }

    @Test func killedHypervisorRecordsStopped() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "victim", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hypervisor = try #require(try stint.hypervisorPID(id))
        sleep(1)
        let killedAt = wallNanosecondsNow()
        #expect(kill(hypervisor, SIGKILL) == 0)

        let stopped = try stint.waitUntil(timeout: .seconds(5)) { try stint.inspect(id).state == "Stopped" }
        #expect(stopped)
        let view = try stint.inspect(id)
        let since = try #require(view.currentPhaseSince.flatMap(parseTimestamp))
        #expect(since >= killedAt - 50_000_000)
        #expect(since - killedAt < 1_000_000_000)
        let exit = try stint.metadata(id)["last_exit"] as? [String: Any]
        #expect((exit?["status"] as? String)?.contains("signal 9") == true)
        #expect(exit?["estimated"] as? Bool == false)
    }

    @Test func pauseForTwoSecondsCountsPaused() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "napper", "--"] + counterProgram)
        try stint.succeed(["pause", "napper"])
        #expect(try stint.inspect("napper").state == "Paused")
        sleep(2)
        try stint.succeed(["resume", "napper"])
        let view = try stint.inspect("napper")
        #expect(view.state == "Running")
        let paused = view.phaseDurationsMilliseconds?["paused"] ?? 0
        #expect(abs(paused - 2_000) <= 250, "paused \(paused) ms")
        try stint.succeed(["pause", "napper"])
        try stint.succeed(["pause", "napper"])
        #expect(try stint.inspect("napper").state == "Paused")
    }

    @Test func stopThenStartCountsStoppedGap() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "cycler", "--"] + counterProgram)
        try stint.succeed(["stop", "cycler", "--timeout", "20"])
        let stopped = try stint.inspect("cycler")
        #expect(stopped.state == "Stopped")
        let runningAtStop = stopped.phaseDurationsMilliseconds?["running"] ?? 0
        try stint.succeed(["stop", "cycler"])
        sleep(2)

        let startedAt = wallNanosecondsNow()
        try stint.succeed(["start", "cycler"])
        let view = try stint.inspect("cycler")
        #expect(view.state == "Running")
        let since = try #require(view.currentPhaseSince.flatMap(parseTimestamp))
        #expect(since > startedAt)
        let durations = view.phaseDurationsMilliseconds ?? [:]
        #expect((durations["stopped"] ?? 0) >= 1_900)
        let runningSinceStart = (wallNanosecondsNow() - since) / 1_000_000
        #expect((durations["running"] ?? 0) <= runningAtStop + runningSinceStart + 50)
        #expect(view.startedAt.flatMap(parseTimestamp).map { $0 >= startedAt } == true)
    }

    @Test func retriedStartDoesNotOpenSecondInterval() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "eager", "--wait", "none", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let retry = try stint.run(["start", "eager"])
        #expect(retry.exitCode == 1)
        #expect(retry.errorOutput.contains("already"))
        let running = try stint.waitUntil(timeout: .seconds(60)) { try stint.inspect(id).state == "Running" }
        #expect(running)
        let phases = try stint.metadata(id)["phases"] as? [String: Any]
        #expect(phases?["transitions"] as? Int == 3, "expected created, initializing, running: \(phases ?? [:])")
    }

    @Test func invalidOperationsChangeNothing() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "steady", "--"] + counterProgram)
        let before = try stint.metadata(try stint.inspect("steady").id)["phases"] as? [String: Any]

        let restore = try stint.run(["restore", "steady"])
        #expect(restore.exitCode == 1)
        #expect(restore.errorOutput.contains("already"))
        let start = try stint.run(["start", "steady"])
        #expect(start.exitCode == 1)
        let after = try stint.metadata(try stint.inspect("steady").id)["phases"] as? [String: Any]
        #expect(before?["transitions"] as? Int == after?["transitions"] as? Int)

        let duplicate = try stint.run(["run", "--name", "steady", "--", "true"])
        #expect(duplicate.exitCode == 1)
        #expect(duplicate.errorOutput.contains("already exists"))
        let badName = try stint.run(["run", "--name", "Bad_Name", "--", "true"])
        #expect(badName.exitCode == 64)
        #expect(badName.errorOutput.contains("Bad_Name"))
        // The CLI takes the same timeouts as the API, so a command works the same with --host.
        for timeout in ["3601", "0x10", "1e3", "-1", "nan", "5."] {
            let rejected = try stint.run(["stop", "steady", "--timeout", timeout])
            #expect(rejected.exitCode == 64, "--timeout \(timeout)")
            #expect(rejected.errorOutput.contains("'\(timeout)'"))
            #expect(rejected.errorOutput.contains("0 to 3600"))
        }
        let missing = try stint.run(["stop", "nothing-here"])
        #expect(missing.exitCode == 1)
        #expect(missing.errorOutput.contains("nothing-here"))
        #expect(try stint.list().count == 1)
    }

    @Test func killedCommandLeavesInstanceUsable() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "survivor", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for delay: UInt32 in [150_000, 600_000] {
            let standby = try stint.launch(["standby", "survivor"])
            standby.standardOutput = FileHandle.nullDevice
            standby.standardError = FileHandle.nullDevice
            try standby.run()
            usleep(delay)
            kill(standby.processIdentifier, SIGKILL)
            standby.waitUntilExit()

            let view = try stint.inspect(id)
            #expect(["Running", "Standby", "Paused", "Stopped"].contains(view.state), "state \(view.state)")
            if view.state == "Standby" {
                try stint.succeed(["restore", "survivor"])
            } else {
                try stint.succeed(["standby", "survivor"])
                try stint.succeed(["restore", "survivor"])
            }
            #expect(try stint.inspect(id).state == "Running")
        }
        try stint.succeed(["stop", "survivor", "--timeout", "0"])
        try stint.succeed(["start", "survivor"])
        #expect(try stint.inspect(id).state == "Running")
    }

    @Test func deleteEndsGuestAndForgetsInstance() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "doomed", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hypervisor = try #require(try stint.hypervisorPID(id))
        let refused = try stint.run(["rm", "doomed"])
        #expect(refused.exitCode == 1)
        try stint.succeed(["rm", "--force", "doomed"])
        #expect(kill(hypervisor, 0) != 0 || isZombie(hypervisor))
        #expect(try stint.list().isEmpty)
        #expect(try stint.run(["inspect", "doomed"]).exitCode == 1)
    }
}

/// True when /proc says the process is a zombie (exited, not yet reaped by its parent).
func isZombie(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
