import Hypervisor
import PhaseTracking

/// The content of `<data>/instances/<id>/metadata.0` and `metadata.1` (see `MetadataSlots`). Every change of phase is written together with the
/// tracker in one atomic write of this file.
public struct InstanceMetadata: Codable, Sendable, Equatable {
    /// The file format version; a file from a newer Stint is rejected instead of misread.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var id: String
    public var name: String
    public var createdAt: HostInstant
    public var startedAt: HostInstant?
    public var stoppedAt: HostInstant?
    public var memoryMiB: Int
    public var vcpus: Int
    /// The program run in the guest, as an argument vector.
    public var command: [String]
    /// The id of the instance this one was forked from.
    public var forkedFrom: String?
    /// The recorded state; `phases.currentPhase` matches it once the tracker has started.
    public var state: Phase
    /// Counts hypervisor launches; a monitor acts only on metadata of its own generation.
    public var generation: Int
    /// The monitor and hypervisor processes of the current generation, while they run.
    public var processes: ProcessRecord?
    /// When the guest printed its boot markers in the current boot.
    public var bootMarkers: BootMarkers
    /// The snapshot on disk, while the instance is in standby (or a fork's copy waits to be restored).
    public var snapshot: SnapshotRecord?
    /// An operation that changed the hypervisor and has not finished. Seen by anyone holding the instance lock,
    /// it means the operation's process died, because operations hold the lock until they end.
    public var pendingOperation: PendingOperation?
    /// The end of the last hypervisor process.
    public var lastExit: ExitRecord?
    public var phases: PhaseTracker
    /// Transitions written here but perhaps not yet into the journal; the journal ignores entries it already has.
    public var journalOutbox: [PendingJournalEntry]

    private enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case id, name
        case createdAt = "created_at"
        case startedAt = "started_at"
        case stoppedAt = "stopped_at"
        case memoryMiB = "memory_mib"
        case vcpus, command
        case forkedFrom = "forked_from"
        case state, generation, processes
        case bootMarkers = "boot_markers"
        case snapshot
        case pendingOperation = "pending_operation"
        case lastExit = "last_exit"
        case phases
        case journalOutbox = "journal_outbox"
    }

    public init(
        id: String, name: String, createdAt: HostInstant, memoryMiB: Int, vcpus: Int, command: [String],
        forkedFrom: String? = nil
    ) {
        formatVersion = Self.currentFormatVersion
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
        self.command = command
        self.forkedFrom = forkedFrom
        state = .created
        generation = 0
        bootMarkers = BootMarkers()
        phases = PhaseTracker()
        journalOutbox = []
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try container.decode(Int.self, forKey: .formatVersion)
        guard formatVersion <= Self.currentFormatVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .formatVersion, in: container,
                debugDescription:
                    "format version \(formatVersion) is newer than this Stint reads (\(Self.currentFormatVersion)); upgrade Stint"
            )
        }
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        createdAt = try container.decode(HostInstant.self, forKey: .createdAt)
        startedAt = try container.decodeIfPresent(HostInstant.self, forKey: .startedAt)
        stoppedAt = try container.decodeIfPresent(HostInstant.self, forKey: .stoppedAt)
        memoryMiB = try container.decode(Int.self, forKey: .memoryMiB)
        vcpus = try container.decode(Int.self, forKey: .vcpus)
        command = try container.decode([String].self, forKey: .command)
        forkedFrom = try container.decodeIfPresent(String.self, forKey: .forkedFrom)
        state = try container.decode(Phase.self, forKey: .state)
        generation = try container.decodeIfPresent(Int.self, forKey: .generation) ?? 0
        processes = try container.decodeIfPresent(ProcessRecord.self, forKey: .processes)
        bootMarkers = try container.decodeIfPresent(BootMarkers.self, forKey: .bootMarkers) ?? BootMarkers()
        snapshot = try container.decodeIfPresent(SnapshotRecord.self, forKey: .snapshot)
        pendingOperation = try container.decodeIfPresent(PendingOperation.self, forKey: .pendingOperation)
        lastExit = try container.decodeIfPresent(ExitRecord.self, forKey: .lastExit)
        phases = try container.decodeIfPresent(PhaseTracker.self, forKey: .phases) ?? PhaseTracker()
        journalOutbox = try container.decodeIfPresent([PendingJournalEntry].self, forKey: .journalOutbox) ?? []
    }

    /// The phase of the guest while its vCPUs run: `running` once both boot markers are in, else `initializing`.
    public var runningPhase: Phase {
        bootMarkers.completedAt != nil ? .running : .initializing
    }

    /// Sets the state, records the transition in the tracker at `instant` (clamped to the current phase's start),
    /// and queues it for the journal.
    public mutating func transition(
        to phase: Phase, at instant: HostInstant, source: TransitionSource = .operation, estimated: Bool = false
    ) {
        state = phase
        guard let applied = phases.record(phase, at: instant) else { return }
        journalOutbox.append(
            PendingJournalEntry(
                sequence: phases.transitionCount, from: applied.from?.rawValue, to: applied.to.rawValue, at: applied.at,
                previousPhaseNanoseconds: applied.nanosecondsInPreviousPhase, source: source, estimated: estimated))
    }
}

/// The processes behind a running instance. Start times (clock ticks since boot, from /proc) guard against pid reuse.
public struct ProcessRecord: Codable, Sendable, Equatable {
    public var monitorPID: Int32
    public var monitorStartTime: UInt64?
    public var hypervisorPID: Int32
    public var hypervisorStartTime: UInt64?
    public var machine: MachineConfig

    private enum CodingKeys: String, CodingKey {
        case monitorPID = "monitor_pid"
        case monitorStartTime = "monitor_start_time"
        case hypervisorPID = "hypervisor_pid"
        case hypervisorStartTime = "hypervisor_start_time"
        case machine
    }
}

/// Host times at which the guest printed its boot markers.
public struct BootMarkers: Codable, Sendable, Equatable {
    public var agentReadyAt: HostInstant?
    public var programStartedAt: HostInstant?

    public init() {}

    /// The later marker's time once both are in.
    public var completedAt: HostInstant? {
        guard let agentReadyAt, let programStartedAt else { return nil }
        return agentReadyAt.isBefore(programStartedAt) ? programStartedAt : agentReadyAt
    }

    private enum CodingKeys: String, CodingKey {
        case agentReadyAt = "agent_ready_at"
        case programStartedAt = "program_started_at"
    }
}

/// A memory image and the machine configuration to load it with.
public struct SnapshotRecord: Codable, Sendable, Equatable {
    public var takenAt: HostInstant
    public var machine: MachineConfig
    /// Whether the guest had passed both boot markers, so a restore returns straight to running.
    public var guestBooted: Bool

    private enum CodingKeys: String, CodingKey {
        case takenAt = "taken_at"
        case machine
        case guestBooted = "guest_booted"
    }
}

/// An operation in progress that affects the hypervisor process.
public struct PendingOperation: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case pause, resume, stop, standby, restore, fork, delete
    }

    public var kind: Kind
    /// The phase before the operation began, to roll back to when the operation died and the guest still runs.
    public var previousPhase: Phase
    public var generation: Int
    /// When the operation began; an interrupted pause or resume is recorded at this moment.
    public var startedAt: HostInstant?

    public init(kind: Kind, previousPhase: Phase, generation: Int, startedAt: HostInstant? = nil) {
        self.kind = kind
        self.previousPhase = previousPhase
        self.generation = generation
        self.startedAt = startedAt
    }

    private enum CodingKeys: String, CodingKey {
        case kind
        case previousPhase = "previous_phase"
        case generation
        case startedAt = "started_at"
    }
}

/// The end of a hypervisor process.
public struct ExitRecord: Codable, Sendable, Equatable {
    public var at: HostInstant
    /// A description such as "exit status 0" or "killed by signal 9".
    public var status: String
    public var source: TransitionSource
    /// True when the moment is an estimate because no process observed the exit.
    public var estimated: Bool
}
