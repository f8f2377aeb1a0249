import Foundation
import Hypervisor
import PhaseTracking
import ProcessSupport

/// The activity of an instance now, derived from its metadata and its processes.
public enum InstanceState: String, Sendable, Codable, CaseIterable {
    case created = "Created"
    case initializing = "Initializing"
    case running = "Running"
    case paused = "Paused"
    case shutdown = "Shutdown"
    case standby = "Standby"
    case stopped = "Stopped"
    case unknown = "Unknown"

    init(_ phase: Phase) {
        switch phase {
        case .created: self = .created
        case .initializing: self = .initializing
        case .running: self = .running
        case .paused: self = .paused
        case .shutdown: self = .shutdown
        case .standby: self = .standby
        case .stopped: self = .stopped
        }
    }
}

/// An instance as reported to operators: its metadata, derived state, and a phase snapshot taken at `observedAt`.
public struct InstanceStatus: Sendable {
    public var id: String
    public var metadata: InstanceMetadata?
    public var state: InstanceState
    /// The reason the state is `Unknown`, or the problem with the instance.
    public var stateError: String?
    public var observedAt: HostInstant
    public var phases: PhaseSnapshot?

    /// Derives the status of a loaded instance. A live phase whose hypervisor process is gone shows as `Unknown`
    /// until an operation or the monitor records the exit.
    static func derive(id: String, metadata: InstanceMetadata, observedAt: HostInstant) -> InstanceStatus {
        var state = InstanceState(metadata.state)
        var stateError: String?
        if metadata.state.isLive {
            if let processes = metadata.processes {
                let hypervisorAlive = ProcessInspector.isAlive(
                    processes.hypervisorPID, startTime: processes.hypervisorStartTime)
                let monitorAlive = ProcessInspector.isAlive(processes.monitorPID, startTime: processes.monitorStartTime)
                if !hypervisorAlive && !monitorAlive {
                    state = .unknown
                    stateError =
                        "hypervisor process \(processes.hypervisorPID) and its monitor are gone without a record; any operation on the instance reconciles it"
                } else if hypervisorAlive && !monitorAlive {
                    state = .unknown
                    stateError =
                        "monitor process \(processes.monitorPID) is gone, so nothing would record the guest's exit; any operation on the instance ends the guest and records it"
                }
            } else {
                state = .unknown
                stateError = "recorded as \(metadata.state.rawValue) but no hypervisor process is recorded"
            }
        }
        if let pending = metadata.pendingOperation, stateError == nil {
            stateError = "operation '\(pending.kind.rawValue)' in progress or interrupted"
        }
        let phases = metadata.phases.isEmpty ? nil : metadata.phases.snapshot(at: observedAt)
        return InstanceStatus(
            id: id, metadata: metadata, state: state, stateError: stateError, observedAt: observedAt, phases: phases)
    }
}

extension Phase {
    /// True for phases in which a hypervisor process exists.
    public var isLive: Bool {
        switch self {
        case .initializing, .running, .paused, .shutdown: return true
        case .created, .standby, .stopped: return false
        }
    }
}
