/// One change of phase, as the tracker applied it.
public struct PhaseTransition: Sendable, Equatable, Codable {
    /// The phase left, or nil for the first transition.
    public var from: Phase?
    public var to: Phase
    /// The moment of the change after clamping, so never before the previous transition.
    public var at: HostInstant
    /// The exact time spent in `from`, in nanoseconds (zero for the first transition).
    public var nanosecondsInPreviousPhase: Int64

    public init(from: Phase?, to: Phase, at: HostInstant, nanosecondsInPreviousPhase: Int64) {
        self.from = from
        self.to = to
        self.at = at
        self.nanosecondsInPreviousPhase = nanosecondsInPreviousPhase
    }

    private enum CodingKeys: String, CodingKey {
        case from, to, at
        case nanosecondsInPreviousPhase = "previous_phase_ns"
    }
}
