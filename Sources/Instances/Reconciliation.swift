import Foundation
import Hypervisor
import PhaseTracking
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

extension InstanceManager {
    /// Repairs what a dead process left behind, under the instance lock, and saves when anything changed.
    ///
    /// A pending operation seen here belongs to a process that died, because operations hold the lock until they end.
    /// If the guest still runs, the operation is rolled back and the guest keeps running. If the hypervisor is gone,
    /// the exit is recorded at the best moment known and marked as estimated.
    func reconcile(_ metadata: inout InstanceMetadata, paths: InstancePaths) throws {
        let hypervisorAlive =
            metadata.processes.map {
                ProcessInspector.isAlive($0.hypervisorPID, startTime: $0.hypervisorStartTime)
            } ?? false

        if let pending = metadata.pendingOperation {
            if hypervisorAlive {
                try rollBack(pending, &metadata, paths: paths)
            } else {
                let moment = estimatedExitInstant(metadata, paths: paths)
                InstanceManager.recordHypervisorExit(
                    &metadata, paths: paths, at: moment,
                    status: "exited while '\(pending.kind.rawValue)' was interrupted",
                    source: .reconciliation, estimated: true)
            }
            try save(&metadata)
            return
        }

        let monitorAlive =
            metadata.processes.map {
                ProcessInspector.isAlive($0.monitorPID, startTime: $0.monitorStartTime)
            } ?? false
        if metadata.state.isLive && hypervisorAlive && !monitorAlive {
            // A guest without its monitor would exit unrecorded, so it is ended now and its time stops here.
            let moment = terminateHypervisor(metadata)
            InstanceManager.recordHypervisorExit(
                &metadata, paths: paths, at: moment, status: "killed because its monitor was gone",
                source: .reconciliation, estimated: false)
            try save(&metadata)
            return
        }

        if metadata.state.isLive && !hypervisorAlive {
            let moment = estimatedExitInstant(metadata, paths: paths)
            InstanceManager.recordHypervisorExit(
                &metadata, paths: paths, at: moment, status: "exited unobserved", source: .reconciliation,
                estimated: true)
            try save(&metadata)
        }
    }

    /// Records the end of the hypervisor process at `moment`. A standby whose memory image was complete lands in
    /// standby; an interrupted restore stays in standby with its snapshot; everything else lands in stopped.
    static func recordHypervisorExit(
        _ metadata: inout InstanceMetadata, paths: InstancePaths, at moment: HostInstant, status: String,
        source: TransitionSource, estimated: Bool
    ) {
        let pending = metadata.pendingOperation
        if let pending, pending.kind == .standby, imageWasWritten(at: paths.memoryImage, after: pending.startedAt),
            let machine = metadata.processes?.machine
        {
            // The vCPUs stopped right after the intent was saved, so its time is a closer estimate of the start of
            // standby than the exit.
            let standbyStart = metadata.state == .standby ? moment : (pending.startedAt ?? moment)
            metadata.transition(
                to: .standby, at: standbyStart, source: source, estimated: estimated || standbyStart != moment)
            metadata.snapshot = SnapshotRecord(
                takenAt: metadata.phases.since ?? moment, machine: machine,
                guestBooted: metadata.bootMarkers.completedAt != nil)
        } else if pending?.kind == .restore, metadata.snapshot != nil {
            metadata.transition(to: .standby, at: moment, source: source, estimated: estimated)
        } else {
            if metadata.state == .standby {
                metadata.snapshot = nil
            }
            metadata.transition(to: .stopped, at: moment, source: source, estimated: estimated)
            metadata.stoppedAt = metadata.phases.since ?? moment
        }
        metadata.processes = nil
        metadata.pendingOperation = nil
        metadata.lastExit = ExitRecord(at: moment, status: status, source: source, estimated: estimated)
    }

    /// Returns whether a complete memory image exists at `path` and, when `start` is known, was last written after
    /// it. An image renamed aside by a restore whose rename did not reach the disk before a power loss can come back
    /// under the same path, and it must not pass for the image of a later standby.
    static func imageWasWritten(at path: String, after start: HostInstant?) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        guard let start else { return true }
        let written = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return written >= start.wallNanoseconds - modificationTimeLag
    }

    /// How far a file's modification time may lag the clock: the kernel stamps it from a clock that advances once per
    /// timer tick, which is at most 10 ms (a kernel built with HZ=100).
    private static let modificationTimeLag: Int64 = 10_000_000

    private func rollBack(_ pending: PendingOperation, _ metadata: inout InstanceMetadata, paths: InstancePaths) throws
    {
        switch pending.kind {
        case .restore, .stop, .delete:
            // A half-restored guest is discarded (the snapshot is still on disk), and an interrupted stop or delete
            // was a request to end the guest anyway.
            let moment = terminateHypervisor(metadata)
            InstanceManager.recordHypervisorExit(
                &metadata, paths: paths, at: moment, status: "ended after interrupted '\(pending.kind.rawValue)'",
                source: .reconciliation, estimated: false)
        case .pause, .resume:
            // The guest is in whatever state QEMU reports; the change happened right after the operation began.
            let machine = try QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(5))
            defer { machine.client.close() }
            let phase = try machine.status() == "running" ? metadata.runningPhase : .paused
            metadata.transition(
                to: phase, at: pending.startedAt ?? now(), source: .reconciliation, estimated: pending.startedAt != nil)
            metadata.pendingOperation = nil
        case .standby where metadata.state == .standby:
            // The guest was already paused and recorded in standby, so the standby is finished as recorded.
            guard let machineConfig = metadata.processes?.machine else {
                throw InstancesError.failed("instance '\(metadata.name)' has no recorded machine configuration")
            }
            let machine = try QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(5))
            defer { machine.client.close() }
            try completeStandby(
                &metadata, paths: paths, machine: machine, machineConfig: machineConfig, reuseWrittenImage: true)
        case .standby:
            // The standby transition is saved only with the final record. A guest whose vCPUs QEMU reports as not
            // running was stopped for this standby, so the standby is finished, stamped at the recorded intent.
            let machine = try QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(5))
            defer { machine.client.close() }
            guard try machine.status() != "running", let machineConfig = metadata.processes?.machine else {
                try? FileManager.default.removeItem(atPath: paths.memoryImage + ".partial")
                metadata.transition(to: metadata.runningPhase, at: now(), source: .reconciliation)
                metadata.pendingOperation = nil
                return
            }
            metadata.transition(
                to: .standby, at: pending.startedAt ?? now(), source: .reconciliation,
                estimated: pending.startedAt != nil)
            try completeStandby(
                &metadata, paths: paths, machine: machine, machineConfig: machineConfig, reuseWrittenImage: true)
        case .fork:
            try? FileManager.default.removeItem(atPath: paths.memoryImage + ".partial")
            let machine = try QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(5))
            defer { machine.client.close() }
            if pending.previousPhase != .paused, try machine.status() != "running" {
                try machine.resume()
            }
            let phase = pending.previousPhase == .paused ? .paused : metadata.runningPhase
            metadata.transition(to: phase, at: now(), source: .reconciliation)
            metadata.pendingOperation = nil
        }
    }

    /// Waits up to `grace` for the hypervisor process to exit on its own, then ends it by SIGKILL, and returns the
    /// moment it was seen gone. The waits use a pidfd on Linux 5.3 or later, so that moment is within a scheduling
    /// delay of the exit.
    func terminateHypervisor(_ metadata: InstanceMetadata, grace: Duration = .zero) -> HostInstant {
        guard let processes = metadata.processes else { return now() }
        let pid = processes.hypervisorPID
        let startTime = processes.hypervisorStartTime
        if !ProcessExitWaiter.wait(for: pid, startTime: startTime, timeout: grace),
            ProcessInspector.isAlive(pid, startTime: startTime)
        {
            kill(pid, SIGKILL)
        }
        _ = ProcessExitWaiter.wait(for: pid, startTime: startTime, timeout: .seconds(10))
        return now()
    }

    /// Estimates the last moment the guest was alive: the newest of the monitor's heartbeat and the writes to the
    /// serial and hypervisor logs, clamped between the start of the current phase and now.
    func estimatedExitInstant(_ metadata: InstanceMetadata, paths: InstancePaths) -> HostInstant {
        let current = now()
        var newestWrite: Int64?
        for path in [paths.monitorHeartbeat, paths.serialLog, paths.hypervisorLog] {
            var info = stat()
            if stat(path, &info) == 0 {
                let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
                newestWrite = max(newestWrite ?? nanoseconds, nanoseconds)
            }
        }
        guard let newestWrite else { return metadata.phases.since ?? current }
        let age = max(0, current.wallNanoseconds - newestWrite)
        let estimate = current.adding(nanoseconds: -age)
        if let since = metadata.phases.since, estimate.isBefore(since) {
            return since
        }
        return estimate
    }
}
