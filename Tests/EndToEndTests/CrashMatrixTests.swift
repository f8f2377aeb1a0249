import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One fault point: the state to set up, the command that dies at the point, and the command that must work after.
struct CrashCase: CustomStringConvertible, Sendable {
    enum Setup: Sendable {
        case none, running, paused, stopped, standby
    }

    var point: String
    var setup: Setup
    var command: [String]
    /// Set for points inside the monitor, which reads `STINT_MONITOR_FAULT_POINT`.
    var inMonitor = false

    var description: String { point }

    static let all: [CrashCase] = [
        CrashCase(
            point: "create.after-publish", setup: .none, command: ["run", "--name", "crash", "--"] + counterProgram),
        CrashCase(point: "start.after-launch", setup: .stopped, command: ["start", "crash"]),
        CrashCase(point: "start.after-save", setup: .stopped, command: ["start", "crash"]),
        CrashCase(point: "stop.after-shutdown-recorded", setup: .running, command: ["stop", "crash"]),
        CrashCase(point: "stop.after-hypervisor-ended", setup: .running, command: ["stop", "crash"]),
        CrashCase(point: "stop.after-save", setup: .running, command: ["stop", "crash"]),
        CrashCase(point: "pause.after-intent", setup: .running, command: ["pause", "crash"]),
        CrashCase(point: "pause.after-hypervisor", setup: .running, command: ["pause", "crash"]),
        CrashCase(point: "pause.after-save", setup: .running, command: ["pause", "crash"]),
        CrashCase(point: "resume.after-intent", setup: .paused, command: ["resume", "crash"]),
        CrashCase(point: "resume.after-hypervisor", setup: .paused, command: ["resume", "crash"]),
        CrashCase(point: "resume.after-save", setup: .paused, command: ["resume", "crash"]),
        CrashCase(point: "standby.after-intent", setup: .running, command: ["standby", "crash"]),
        CrashCase(point: "standby.after-pause", setup: .running, command: ["standby", "crash"]),
        CrashCase(point: "snapshot.after-migration", setup: .running, command: ["standby", "crash"]),
        CrashCase(point: "standby.after-snapshot", setup: .running, command: ["standby", "crash"]),
        CrashCase(point: "standby.after-save", setup: .running, command: ["standby", "crash"]),
        CrashCase(point: "restore.after-launch", setup: .standby, command: ["restore", "crash"]),
        CrashCase(point: "restore.after-resume", setup: .standby, command: ["restore", "crash"]),
        CrashCase(point: "restore.after-save", setup: .standby, command: ["restore", "crash"]),
        CrashCase(
            point: "fork.after-source-paused", setup: .running, command: ["fork", "crash", "--name", "crash-fork"]),
        CrashCase(point: "fork.after-publish", setup: .running, command: ["fork", "crash", "--name", "crash-fork"]),
        CrashCase(
            point: "fork.after-source-resumed", setup: .running, command: ["fork", "crash", "--name", "crash-fork"]),
        CrashCase(point: "delete.after-journal", setup: .running, command: ["rm", "--force", "crash"]),
        CrashCase(point: "delete.after-rename", setup: .running, command: ["rm", "--force", "crash"]),
        CrashCase(point: "journal.after-metadata", setup: .running, command: ["pause", "crash"]),
        CrashCase(
            point: "monitor.after-boot-recorded", setup: .none,
            command: ["run", "--name", "crash", "--"] + counterProgram,
            inMonitor: true),
        CrashCase(
            point: "monitor.after-exit-recorded", setup: .running, command: ["stop", "crash", "--timeout", "0"],
            inMonitor: true),
    ]
}

/// For every fault point: run the operation on a real guest, let the process die there, and check that the instance
/// is loadable, legal and usable, that its accounts still add up and lost nothing, and that no QEMU is orphaned.
@Suite(.serialized) struct CrashMatrixTests {
    @Test func everyFaultPointIsCovered() {
        #expect(Set(CrashCase.all.map(\.point)) == Set(FaultPoint.all))
    }

    @Test(arguments: CrashCase.all)
    func crashLeavesConsistentState(_ crash: CrashCase) throws {
        let stint = try StintHarness()
        try prepare(crash.setup, stint)
        let before = try stint.list()

        let process = try stint.launch(crash.command)
        var environment = process.environment ?? [:]
        environment[crash.inMonitor ? "STINT_MONITOR_FAULT_POINT" : "STINT_FAULT_POINT"] = crash.point
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        if !crash.inMonitor {
            #expect(process.terminationReason == .uncaughtSignal, "\(crash.point) was not reached")
            #expect(process.terminationStatus == SIGKILL)
        } else {
            // The monitor dies after its write; give it the moment it needs to get there.
            usleep(1_500_000)
        }

        // Every metadata file parses, and every instance is in a legal state once loaded.
        let requestedAt = wallNanosecondsNow()
        let after = try stint.list()
        let answeredAt = wallNanosecondsNow()
        for view in after {
            #expect(
                view.state != "Unknown", "\(crash.point): \(view.name ?? view.id) is Unknown: \(view.stateError ?? "")")
            try checkConservation(view, stint, requestedAt: requestedAt, answeredAt: answeredAt, point: crash.point)
        }

        // No total is lower than before the crash.
        for old in before {
            guard let new = after.first(where: { $0.id == old.id }) else { continue }
            for (phase, milliseconds) in old.phaseDurationsMilliseconds ?? [:] {
                #expect(
                    (new.phaseDurationsMilliseconds?[phase] ?? 0) >= milliseconds,
                    "\(crash.point): \(phase) went from \(milliseconds) to \(new.phaseDurationsMilliseconds?[phase] ?? 0)"
                )
            }
        }

        // The next operations on the instance succeed.
        if after.contains(where: { $0.name == "crash" }) {
            try stint.succeed(["stop", "crash", "--timeout", "0"])
            try stint.succeed(["start", "crash"])
            #expect(try stint.inspect("crash").state == "Running", "\(crash.point): restart did not run")
            try stint.succeed(["standby", "crash"])
            try stint.succeed(["restore", "crash"])
        }

        // Every QEMU of this data directory belongs to an instance that records it, and its monitor runs.
        for pid in qemuProcesses(of: stint.dataDirectory) {
            let owners = try stint.list().compactMap { view -> Int? in
                let processes = try? stint.metadata(view.id)["processes"] as? [String: Any]
                guard let processes, processes["hypervisor_pid"] as? Int == Int(pid) else { return nil }
                return processes["monitor_pid"] as? Int
            }
            #expect(owners.count == 1, "\(crash.point): QEMU \(pid) belongs to no instance")
            if let monitor = owners.first {
                #expect(kill(pid_t(monitor), 0) == 0, "\(crash.point): QEMU \(pid) has no monitor")
            }
        }
    }

    private func prepare(_ setup: CrashCase.Setup, _ stint: StintHarness) throws {
        guard setup != .none else { return }
        try stint.succeed(["run", "--name", "crash", "--"] + counterProgram)
        usleep(300_000)
        switch setup {
        case .none, .running: break
        case .paused: try stint.succeed(["pause", "crash"])
        case .stopped: try stint.succeed(["stop", "crash", "--timeout", "0"])
        case .standby: try stint.succeed(["standby", "crash"])
        }
    }

    /// The phase totals add up to the time since the first transition, within 1 ms per phase for the floors.
    private func checkConservation(
        _ view: InstanceView, _ stint: StintHarness, requestedAt: Int64, answeredAt: Int64, point: String
    ) throws {
        guard let durations = view.phaseDurationsMilliseconds else { return }
        let phases = try stint.metadata(view.id)["phases"] as? [String: Any]
        let first = ((phases?["first"] as? [String: Any])?["time"] as? String).flatMap(parseTimestamp)
        let start = try #require(first, "\(point): no first transition recorded")
        let sum = durations.values.reduce(0, +)
        let lowest = (requestedAt - start) / 1_000_000 - Int64(durations.count)
        let highest = (answeredAt - start) / 1_000_000 + 1
        #expect(sum >= lowest && sum <= highest, "\(point): totals \(sum) ms outside \(lowest)...\(highest) ms")
    }

    /// The pids of QEMU processes whose command line names `dataDirectory`.
    private func qemuProcesses(of dataDirectory: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), !isZombie(pid),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.first?.hasSuffix("qemu-system-x86_64") == true,
                arguments.contains(where: { $0.contains(dataDirectory + "/") })
            else { return nil }
            return pid
        }
    }
}

/// A crash between a hypervisor change and its record is reconciled against what QEMU really does.
@Suite(.serialized) struct CrashReconciliationTests {
    @Test func pauseCrashRecordsRealState() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "crash", "--"] + counterProgram)
        let process = try stint.launch(["pause", "crash"])
        process.environment?["STINT_FAULT_POINT"] = "pause.after-hypervisor"
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == SIGKILL)

        // QEMU paused the guest before the crash, so the instance must not keep accruing running time.
        let view = try stint.inspect("crash")
        #expect(view.state == "Paused")
        let exit = try stint.metadata(view.id)["pending_operation"]
        #expect(exit == nil)
        try stint.succeed(["resume", "crash"])
        #expect(try stint.inspect("crash").state == "Running")
    }
}
