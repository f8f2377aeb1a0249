import Foundation
import GuestImage
import Hypervisor
import PhaseTracking
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Applies what the monitor observed to the instance's metadata, under the instance lock and only for the monitor's
/// own launch. `stint monitor-record` runs one call per process, in the order the monitor observed the events.
/// Events carry the host time at which they were observed, so waiting for the lock never shifts them.
final class TransitionRecorder: Sendable {
    private let store: InstanceStore
    private let id: String
    private let generation: Int
    private let hypervisorPID: pid_t
    private let log: Logger

    init(store: InstanceStore, id: String, generation: Int, hypervisorPID: pid_t, log: Logger) {
        self.store = store
        self.id = id
        self.generation = generation
        self.hypervisorPID = hypervisorPID
        self.log = log
    }

    /// Kills the hypervisor when the instance does not record this launch once the launching operation has released
    /// the lock: the operation died before it recorded the launch, or the instance was deleted.
    func verifyOwnership() {
        update { metadata, _ in
            if metadata.generation != generation || metadata.processes?.hypervisorPID != hypervisorPID {
                log.warning("launch not recorded by the instance; ending the hypervisor", [:])
                killOwnHypervisor()
            }
            return false
        } onMissing: {
            log.warning("instance is gone; ending the hypervisor", [:])
            killOwnHypervisor()
        }
    }

    /// Sends SIGKILL to the hypervisor only when it is a sibling of this process, a child of the monitor that runs
    /// this recorder, so a wrong pid on the command line cannot end an unrelated process.
    private func killOwnHypervisor() {
        guard hypervisorPID > 1, ProcessInspector.parentPID(of: hypervisorPID) == getppid() else {
            log.warning("not ending process \(hypervisorPID): it is not a child of this monitor", [:])
            return
        }
        kill(hypervisorPID, SIGKILL)
    }

    /// Stores the first sighting of `marker` and, once both markers are in, records `initializing` → `running` at the
    /// later one. Returns whether the metadata was saved.
    @discardableResult
    func recordMarker(_ marker: BootMarker, at instant: HostInstant) -> Bool {
        update { metadata, _ in
            guard owns(metadata) else { return false }
            switch marker {
            case .agentReady:
                guard metadata.bootMarkers.agentReadyAt == nil else { return false }
                metadata.bootMarkers.agentReadyAt = instant
            case .programStarted:
                guard metadata.bootMarkers.programStartedAt == nil else { return false }
                metadata.bootMarkers.programStartedAt = instant
            }
            if let booted = metadata.bootMarkers.completedAt, metadata.state == .initializing,
                metadata.pendingOperation == nil
            {
                metadata.transition(to: .running, at: booted, source: .monitor)
                log.info("guest booted", ["phase": Phase.running.rawValue])
            }
            return true
        } onMissing: {
        }
    }

    /// Records the hypervisor's exit at `instant` unless an operation already recorded it. Returns whether the
    /// metadata was saved; after a save the process reaches the fault point `monitor.after-exit-recorded`.
    @discardableResult
    func recordExit(at instant: HostInstant, status: String) -> Bool {
        update { metadata, paths in
            guard owns(metadata) else { return false }
            guard metadata.state.isLive || metadata.pendingOperation != nil else { return false }
            InstanceManager.recordHypervisorExit(
                &metadata, paths: paths, at: instant, status: status, source: .monitor, estimated: false)
            log.info("recorded hypervisor exit", ["phase": metadata.state.rawValue, "status": status])
            return true
        } after: { saved in
            if saved { FaultPoint.reach("monitor.after-exit-recorded") }
        } onMissing: {
        }
    }

    private func owns(_ metadata: InstanceMetadata) -> Bool {
        metadata.generation == generation && metadata.processes?.hypervisorPID == hypervisorPID
    }

    /// Loads the metadata under the lock, lets `change` edit it, and saves when `change` returns true. Returns whether
    /// it saved.
    @discardableResult
    private func update(
        _ change: (inout InstanceMetadata, InstancePaths) -> Bool, after: (Bool) -> Void = { _ in },
        onMissing: () -> Void
    ) -> Bool {
        do {
            let lock = try store.lockInstance(id: id, timeout: nil)
            defer { lock.unlock() }
            var metadata = try store.loadMetadata(id: id)
            store.flushJournal(metadata)
            let changed = change(&metadata, store.paths(forID: id))
            if changed {
                try store.saveMetadata(&metadata)
            }
            after(changed)
            return changed
        } catch let error as InstancesError where error.code == .notFound {
            onMissing()
        } catch {
            log.error("recording an observation failed", ["error": "\(error)"])
        }
        return false
    }
}
