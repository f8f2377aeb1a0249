/// Per-instance phase accounting: the current phase, when it began, and the exact time spent in each phase.
///
/// A value type, so a copy never shares state with its source. Invariants:
/// - `since` never moves backwards: a transition stamped before `since` is clamped to `since`.
/// - No phase accrues negative time.
/// - Conservation: the accrued durations plus the live time of the current phase equal the time since the
///   first transition (exactly, in nanoseconds, while the host stays up).
public struct PhaseTracker: Sendable, Equatable {
    /// The phase the instance is in now, or nil for an empty tracker.
    public internal(set) var currentPhase: Phase?
    /// When the current phase began.
    public internal(set) var since: HostInstant?
    /// When the first transition happened.
    public internal(set) var firstTransitionAt: HostInstant?
    /// Exact nanoseconds accrued per phase by completed intervals; the live interval is not included.
    public internal(set) var accruedNanoseconds: [Phase: Int64]
    /// How many transitions the tracker has applied since it was created or reset.
    public internal(set) var transitionCount: Int

    /// Creates an empty tracker, which starts on the first transition.
    public init() {
        currentPhase = nil
        since = nil
        firstTransitionAt = nil
        accruedNanoseconds = [:]
        transitionCount = 0
    }

    /// True before the first transition.
    public var isEmpty: Bool { currentPhase == nil }

    /// Moves the tracker to `phase` at `instant` and returns the transition applied.
    ///
    /// Recording the phase the tracker is already in changes nothing and returns nil, so a retried
    /// operation never opens a second interval. An instant earlier than `since` is clamped to `since`.
    @discardableResult
    public mutating func record(_ phase: Phase, at instant: HostInstant) -> PhaseTransition? {
        guard let current = currentPhase, let start = since else {
            currentPhase = phase
            since = instant
            firstTransitionAt = instant
            transitionCount = 1
            return PhaseTransition(from: nil, to: phase, at: instant, nanosecondsInPreviousPhase: 0)
        }
        guard phase != current else { return nil }

        let moment = instant.isBefore(start) ? start : instant
        let elapsed = max(0, moment.nanoseconds(since: start))
        accruedNanoseconds[current] = (accruedNanoseconds[current] ?? 0).addingSaturating(elapsed)
        currentPhase = phase
        since = moment
        transitionCount += 1
        return PhaseTransition(from: current, to: phase, at: moment, nanosecondsInPreviousPhase: elapsed)
    }

    /// Clears the tracker back to empty.
    public mutating func reset() {
        self = PhaseTracker()
    }

    /// Returns the totals as of `instant`, with the current phase counted up to `instant`, and leaves the tracker
    /// unchanged.
    /// An instant before `since` counts the live phase as zero.
    public func snapshot(at instant: HostInstant) -> PhaseSnapshot {
        var totals = accruedNanoseconds
        if let current = currentPhase, let start = since {
            // Saturates, so a corrupt total near `Int64.max` reads as that maximum instead of trapping.
            totals[current, default: 0] = (totals[current] ?? 0).addingSaturating(
                max(0, instant.nanoseconds(since: start)))
        }
        return PhaseSnapshot(currentPhase: currentPhase, since: since, nanoseconds: totals)
    }
}

extension Int64 {
    /// Returns the sum, or `Int64.max` or `Int64.min` when the sum does not fit.
    public func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? Int64.max : Int64.min
    }
}
