import Dispatch
import Foundation
import GuestImage
import Hypervisor
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// Applies what the monitor observes to the instance's metadata, one event at a time and in order, each under the
/// instance lock. Events carry the host time at which they were observed, so waiting for the lock never shifts them.
final class TransitionRecorder: Sendable {
    private let store: InstanceStore
    private let id: String
    private let generation: Int
    private let hypervisorPID: pid_t
    private let log: Logger
    private let queue = DispatchQueue(label: "stint.monitor.recorder")

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
        queue.async { [self] in
            update { metadata, _ in
                if metadata.generation != generation || metadata.processes?.hypervisorPID != hypervisorPID {
                    log.warning("launch not recorded by the instance; ending the hypervisor", [:])
                    kill(hypervisorPID, SIGKILL)
                }
                return false
            } onMissing: {
                log.warning("instance is gone; ending the hypervisor", [:])
                kill(hypervisorPID, SIGKILL)
            }
        }
    }

    func recordMarker(_ marker: BootMarker, at instant: HostInstant) {
        queue.async { [self] in
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
            } after: { saved in
                if saved { FaultPoint.reach("monitor.after-boot-recorded") }
            } onMissing: {
            }
        }
    }

    func recordExit(at instant: HostInstant, status: String) {
        queue.async { [self] in
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
    }

    /// Blocks until every queued event has been applied.
    func drain() {
        queue.sync {}
    }

    private func owns(_ metadata: InstanceMetadata) -> Bool {
        metadata.generation == generation && metadata.processes?.hypervisorPID == hypervisorPID
    }

    /// Loads the metadata under the lock, lets `change` edit it, and saves when `change` returns true.
    private func update(
        _ change: (inout InstanceMetadata, InstancePaths) -> Bool, after: (Bool) -> Void = { _ in },
        onMissing: () -> Void
    ) {
        do {
            let lock = try store.lockInstance(id: id, timeout: nil)
            defer { lock.unlock() }
            var metadata = try store.loadMetadata(id: id)
            store.flushJournal(&metadata)
            let changed = change(&metadata, store.paths(forID: id))
            if changed {
                try store.saveMetadata(&metadata)
            }
            after(changed)
        } catch let error as InstancesError where error.code == .notFound {
            onMissing()
        } catch {
            log.error("recording an observation failed", ["error": "\(error)"])
        }
    }
}
