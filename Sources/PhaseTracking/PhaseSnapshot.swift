/// The phase totals at one moment, with the live phase counted up to that moment.
public struct PhaseSnapshot: Sendable, Equatable {
    public var currentPhase: Phase?
    public var since: HostInstant?
    /// Exact nanoseconds per phase; phases never entered are absent.
    public var nanoseconds: [Phase: Int64]

    public init(currentPhase: Phase?, since: HostInstant?, nanoseconds: [Phase: Int64]) {
        self.currentPhase = currentPhase
        self.since = since
        self.nanoseconds = nanoseconds
    }

    /// Whole milliseconds per phase: the floor of each exact total, so rounding never accumulates across transitions.
    public var milliseconds: [Phase: Int64] {
        nanoseconds.mapValues { $0 / 1_000_000 }
    }

    /// Whole milliseconds in `phase`, zero when the phase was never entered.
    public func milliseconds(in phase: Phase) -> Int64 {
        (nanoseconds[phase] ?? 0) / 1_000_000
    }

    /// The sum over all phases in exact nanoseconds.
    public var totalNanoseconds: Int64 {
        nanoseconds.values.reduce(0) { $0.addingSaturating($1) }
    }
}
