import PhaseTracking

/// The recorder of a transition.
public enum TransitionSource: String, Codable, Sendable {
    /// The code of an operation (create, start, stop, …) that caused it.
    case operation
    /// The instance's monitor, for what the guest or the hypervisor did on its own.
    case monitor
    /// Repair of what a dead process left behind.
    case reconciliation
}

/// A transition waiting in the metadata to be copied into the journal. Metadata is written first, so a crash
/// between the two writes leaves the entry here. The next operation on the instance and every journal read
/// (usage, feeds, metrics) copy it.
public struct PendingJournalEntry: Codable, Sendable, Equatable {
    /// The per-instance sequence number, 1 for the first transition.
    public var sequence: Int
    public var from: String?
    /// A phase, or `deleted` for the final entry of a deleted instance.
    public var to: String
    public var at: HostInstant
    /// The exact time spent in `from`, in nanoseconds.
    public var previousPhaseNanoseconds: Int64
    public var source: TransitionSource
    public var estimated: Bool

    private enum CodingKeys: String, CodingKey {
        case sequence, from, to, at
        case previousPhaseNanoseconds = "previous_phase_ns"
        case source, estimated
    }
}

/// One transition as stored in the journal and shown by the transitions feed.
public struct JournalEntry: Codable, Sendable, Equatable {
    /// The position in the feed over all instances; increases with every entry and is never reused.
    public var cursor: Int64
    public var instanceID: String
    public var instanceName: String
    public var sequence: Int
    public var from: String?
    public var to: String
    /// The moment, UTC RFC 3339 with nanoseconds.
    public var at: String
    public var previousPhaseNanoseconds: Int64
    public var source: TransitionSource
    public var estimated: Bool
    /// The moment on the host's clocks, for exact durations; not part of the JSON form.
    public var instant: HostInstant

    private enum CodingKeys: String, CodingKey {
        case cursor
        case instanceID = "instance_id"
        case instanceName = "instance_name"
        case sequence, from, to, at
        case previousPhaseNanoseconds = "previous_phase_ns"
        case source, estimated
    }

    public init(
        cursor: Int64, instanceID: String, instanceName: String, sequence: Int, from: String?, to: String,
        instant: HostInstant, previousPhaseNanoseconds: Int64, source: TransitionSource, estimated: Bool
    ) {
        self.cursor = cursor
        self.instanceID = instanceID
        self.instanceName = instanceName
        self.sequence = sequence
        self.from = from
        self.to = to
        self.at = instant.timestamp
        self.previousPhaseNanoseconds = previousPhaseNanoseconds
        self.source = source
        self.estimated = estimated
        self.instant = instant
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cursor = try container.decode(Int64.self, forKey: .cursor)
        instanceID = try container.decode(String.self, forKey: .instanceID)
        instanceName = try container.decode(String.self, forKey: .instanceName)
        sequence = try container.decode(Int.self, forKey: .sequence)
        from = try container.decodeIfPresent(String.self, forKey: .from)
        to = try container.decode(String.self, forKey: .to)
        at = try container.decode(String.self, forKey: .at)
        previousPhaseNanoseconds = try container.decode(Int64.self, forKey: .previousPhaseNanoseconds)
        source = try container.decode(TransitionSource.self, forKey: .source)
        estimated = try container.decode(Bool.self, forKey: .estimated)
        let wall = RFC3339.parse(at) ?? 0
        instant = HostInstant(wallNanoseconds: wall, bootNanoseconds: wall, bootID: "wall-clock")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cursor, forKey: .cursor)
        try container.encode(instanceID, forKey: .instanceID)
        try container.encode(instanceName, forKey: .instanceName)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(at, forKey: .at)
        try container.encode(previousPhaseNanoseconds, forKey: .previousPhaseNanoseconds)
        try container.encode(source, forKey: .source)
        try container.encode(estimated, forKey: .estimated)
    }
}
