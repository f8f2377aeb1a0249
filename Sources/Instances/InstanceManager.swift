import Foundation
import GuestImage
import Hypervisor
import PhaseTracking
import ProcessSupport

/// The instance operations. Every operation takes the instance's lock, reconciles what a dead process left behind,
/// does its work, records its transitions in the same metadata write as the state change, and releases the lock.
/// Guests outlive the process that started them: each runs under its own monitor process.
public final class InstanceManager: Sendable {
    /// The seconds an operation may be given to stop a guest or to wait for a state, the same in the CLI and the API.
    public static let timeoutRangeSeconds: ClosedRange<Double> = 0...3_600

    public let configuration: ManagerConfiguration
    public let store: InstanceStore
    let clock: any HostClock

    public init(configuration: ManagerConfiguration, clock: any HostClock = SystemClock()) throws {
        self.configuration = configuration
        self.store = try InstanceStore(dataDirectory: configuration.dataDirectory)
        self.clock = clock
    }

    // MARK: - Reading

    /// Lists all instances, sorted by name. A broken instance shows as `Unknown` with its error, and the rest are unaffected.
    public func list() -> [InstanceStatus] {
        // Each sort key is computed once; comparing whole statuses copies them on every comparison.
        let statuses = store.instanceIDs().concurrentMap { self.status(ofID: $0) }
        let keys = statuses.map { $0.metadata?.name ?? $0.id }
        return keys.indices.sorted { keys[$0] < keys[$1] }.map { statuses[$0] }
    }

    /// Returns the status of the instance with `reference` as name or id.
    public func status(_ reference: String) throws -> InstanceStatus {
        let id = try store.resolve(reference)
        return status(ofID: id)
    }

    /// Returns the status of the instance in directory `id`; `Unknown` with the error when it cannot be read.
    public func status(ofID id: String) -> InstanceStatus {
        let now = clock.now()
        do {
            let metadata = try store.loadMetadata(id: id)
            let status = InstanceStatus.derive(id: id, metadata: metadata, observedAt: now)
            let needsRepair =
                (status.state == .unknown && metadata.processes != nil) || metadata.pendingOperation != nil
            if needsRepair, let repaired = reconcileIfIdle(id: id) {
                return repaired
            }
            return status
        } catch {
            return InstanceStatus(
                id: id, metadata: nil, state: .unknown, stateError: "\(error)", observedAt: now, phases: nil)
        }
    }

    /// Waits until the guest has reached `phase` in its current boot: `.running` once both boot markers are in (even
    /// if the program has exited since), `.initializing` once it was started. Throws when the instance lands in a
    /// phase it cannot leave without an operation, or after `timeout`.
    public func wait(for reference: String, phase: Phase, timeout: Duration) throws -> InstanceStatus {
        let id = try store.resolve(reference)
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = status(ofID: id)
            guard let metadata = current.metadata else {
                throw InstancesError(.corrupt, current.stateError ?? "instance '\(id)' cannot be read")
            }
            let booted = metadata.bootMarkers.completedAt != nil
            switch phase {
            case .running where metadata.state == .running || booted:
                return current
            case .initializing where metadata.state != .created:
                return current
            case let other where other != .running && other != .initializing && metadata.state == other:
                return current
            default:
                break
            }
            if [.stopped, .standby, .created].contains(metadata.state) {
                let hint = metadata.lastExit.map { " (hypervisor \($0.status))" } ?? ""
                throw InstancesError.failed(
                    "instance '\(metadata.name)' reached \(metadata.state.rawValue)\(hint) while waiting for \(phase.rawValue); see 'stint logs \(metadata.name)'"
                )
            }
            guard ContinuousClock.now < deadline else {
                throw InstancesError.failed(
                    "timed out after \(timeout) waiting for instance '\(metadata.name)' to reach \(phase.rawValue); it is \(metadata.state.rawValue); see 'stint logs \(metadata.name)'"
                )
            }
            usleep(50_000)
        }
    }

    /// Reconciles an instance whose processes are gone or whose operation was interrupted, if no operation holds its
    /// lock, so a dead process never leaves a phase accruing. Returns the repaired status, or nil when the lock is
    /// busy (an operation is in progress) or the repair failed.
    private func reconcileIfIdle(id: String) -> InstanceStatus? {
        guard let lock = try? store.lockInstance(id: id, timeout: .zero) else { return nil }
        defer { lock.unlock() }
        guard var metadata = try? store.loadMetadata(id: id) else { return nil }
        do {
            try reconcile(&metadata, paths: store.paths(forID: id))
        } catch {
            // A failed repair may still have saved what it changed (a standby that could not finish resumes the
            // guest), so the state is read from the file, not from the copy in memory.
            guard let saved = try? store.loadMetadata(id: id) else { return nil }
            return InstanceStatus.derive(id: id, metadata: saved, observedAt: clock.now())
        }
        return InstanceStatus.derive(id: id, metadata: metadata, observedAt: clock.now())
    }

    // MARK: - Locked operations

    /// Runs `body` with the instance's lock held and its metadata loaded and reconciled.
    func withLockedInstance<Result>(
        _ reference: String, _ body: (inout InstanceMetadata, InstancePaths) throws -> Result
    ) throws -> Result {
        let id = try store.resolve(reference)
        let paths = store.paths(forID: id)
        var lock = try store.lockInstance(id: id, timeout: configuration.lockTimeout)
        var metadata = try store.loadMetadata(id: id)

        if needsMonitorToSettle(metadata) {
            // The hypervisor has exited and its monitor waits for this lock to record the exit with its exact time.
            lock.unlock()
            waitForMonitorExit(metadata, timeout: .seconds(5))
            lock = try store.lockInstance(id: id, timeout: configuration.lockTimeout)
            metadata = try store.loadMetadata(id: id)
        }
        defer { lock.unlock() }

        store.flushJournal(metadata)
        try reconcile(&metadata, paths: paths)
        return try body(&metadata, paths)
    }

    func save(_ metadata: inout InstanceMetadata) throws {
        try store.saveMetadata(&metadata)
    }

    /// Returns the current instant of the manager's clock, the one statuses are observed at.
    public func now() -> HostInstant { clock.now() }

    private func needsMonitorToSettle(_ metadata: InstanceMetadata) -> Bool {
        guard metadata.state.isLive, let processes = metadata.processes else { return false }
        let hypervisorAlive = ProcessInspector.isAlive(
            processes.hypervisorPID, startTime: processes.hypervisorStartTime)
        let monitorAlive = ProcessInspector.isAlive(processes.monitorPID, startTime: processes.monitorStartTime)
        return !hypervisorAlive && monitorAlive
    }

    private func waitForMonitorExit(_ metadata: InstanceMetadata, timeout: Duration) {
        guard let processes = metadata.processes else { return }
        _ = ProcessExitWaiter.wait(for: processes.monitorPID, startTime: processes.monitorStartTime, timeout: timeout)
    }
}
