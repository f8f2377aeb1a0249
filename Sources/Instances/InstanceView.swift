import Foundation
import PhaseTracking

/// An instance as the CLI's JSON output and the HTTP API show it. Field names are snake_case; timestamps are UTC
/// RFC 3339 with microseconds and `Z`. The three phase fields are omitted together while the tracker is empty.
public struct InstanceView: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var state: String
    public var stateError: String?
    public var createdAt: String?
    public var startedAt: String?
    public var stoppedAt: String?
    public var vcpus: Int?
    public var memoryMiB: Int?
    public var command: [String]?
    public var hasSnapshot: Bool
    public var forkedFrom: String?
    public var currentPhase: String?
    public var currentPhaseSince: String?
    /// Whole milliseconds per phase (the floor of the exact total), the live phase counted up to the response time.
    public var phaseDurationsMilliseconds: [String: Int64]?

    enum CodingKeys: String, CodingKey {
        case id, name, state
        case stateError = "state_error"
        case createdAt = "created_at"
        case startedAt = "started_at"
        case stoppedAt = "stopped_at"
        case vcpus
        case memoryMiB = "memory_mib"
        case command
        case hasSnapshot = "has_snapshot"
        case forkedFrom = "forked_from"
        case currentPhase = "current_phase"
        case currentPhaseSince = "current_phase_since"
        case phaseDurationsMilliseconds = "phase_durations_ms"
    }

    public init(_ status: InstanceStatus) {
        id = status.id
        state = status.state.rawValue
        stateError = status.stateError
        let metadata = status.metadata
        name = metadata?.name
        createdAt = metadata.map { Self.timestamp($0.createdAt) }
        startedAt = metadata?.startedAt.map(Self.timestamp)
        stoppedAt = metadata?.stoppedAt.map(Self.timestamp)
        vcpus = metadata?.vcpus
        memoryMiB = metadata?.memoryMiB
        command = metadata?.command
        hasSnapshot = metadata?.snapshot != nil
        forkedFrom = metadata?.forkedFrom
        if let phases = status.phases, let current = phases.currentPhase, let since = phases.since {
            currentPhase = current.rawValue
            currentPhaseSince = Self.timestamp(since)
            phaseDurationsMilliseconds = Dictionary(
                uniqueKeysWithValues: phases.milliseconds.map { ($0.key.rawValue, $0.value) })
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(state, forKey: .state)
        try container.encodeIfPresent(stateError, forKey: .stateError)
        try container.encodeIfPresent(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(stoppedAt, forKey: .stoppedAt)
        try container.encodeIfPresent(vcpus, forKey: .vcpus)
        try container.encodeIfPresent(memoryMiB, forKey: .memoryMiB)
        try container.encodeIfPresent(command, forKey: .command)
        try container.encode(hasSnapshot, forKey: .hasSnapshot)
        try container.encodeIfPresent(forkedFrom, forKey: .forkedFrom)
        try container.encodeIfPresent(currentPhase, forKey: .currentPhase)
        try container.encodeIfPresent(currentPhaseSince, forKey: .currentPhaseSince)
        try container.encodeIfPresent(phaseDurationsMilliseconds, forKey: .phaseDurationsMilliseconds)
    }

    static func timestamp(_ instant: HostInstant) -> String {
        RFC3339.format(nanosecondsSinceEpoch: instant.wallNanoseconds, fractionDigits: 6)
    }

    /// Encodes views as pretty-printed JSON with sorted keys.
    public static func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
