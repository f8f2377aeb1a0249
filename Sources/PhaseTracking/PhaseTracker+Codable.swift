/// The tracker's form in the instance metadata:
/// `{"current": "running", "since": {...}, "first": {...}, "accrued_ns": {"running": 123}, "transitions": 3}`.
/// `{}` (metadata written before phases existed) decodes to an empty tracker.
extension PhaseTracker: Codable {
    private enum CodingKeys: String, CodingKey {
        case current, since, first
        case accruedNanoseconds = "accrued_ns"
        case transitionCount = "transitions"
    }

    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let current = try container.decodeIfPresent(Phase.self, forKey: .current)
        let since = try container.decodeIfPresent(HostInstant.self, forKey: .since)
        let first = try container.decodeIfPresent(HostInstant.self, forKey: .first)
        guard let current, let since else {
            if current != nil || since != nil {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: container.codingPath,
                        debugDescription:
                            "phase tracker has only one of 'current' and 'since'; both or neither are required"))
            }
            return
        }
        let accrued = try container.decodeIfPresent([String: Int64].self, forKey: .accruedNanoseconds) ?? [:]
        var totals: [Phase: Int64] = [:]
        for (name, value) in accrued {
            guard let phase = Phase(rawValue: name) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: container.codingPath + [CodingKeys.accruedNanoseconds],
                        debugDescription: "unknown phase '\(name)'; expected one of \(Phase.allCases.map(\.rawValue))"))
            }
            guard value >= 0 else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: container.codingPath + [CodingKeys.accruedNanoseconds],
                        debugDescription: "negative duration \(value) ns for phase '\(name)'"))
            }
            totals[phase] = value
        }
        self.currentPhase = current
        self.since = since
        self.firstTransitionAt = first ?? since
        self.accruedNanoseconds = totals
        self.transitionCount = try container.decodeIfPresent(Int.self, forKey: .transitionCount) ?? 1
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        guard let currentPhase, let since else { return }
        try container.encode(currentPhase, forKey: .current)
        try container.encode(since, forKey: .since)
        try container.encodeIfPresent(firstTransitionAt, forKey: .first)
        let accrued = Dictionary(uniqueKeysWithValues: accruedNanoseconds.map { ($0.key.rawValue, $0.value) })
        try container.encode(accrued, forKey: .accruedNanoseconds)
        try container.encode(transitionCount, forKey: .transitionCount)
    }
}
