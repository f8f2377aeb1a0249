/// A point in time on the monotonic clock after which an operation gives up.
struct Deadline {
    let instant: ContinuousClock.Instant

    init(after timeout: Duration) {
        instant = ContinuousClock.now.advanced(by: timeout)
    }

    var hasPassed: Bool { ContinuousClock.now >= instant }

    /// The time left, or zero once the deadline has passed.
    var remaining: Duration { max(.zero, ContinuousClock.now.duration(to: instant)) }

    /// The time left, in whole milliseconds rounded up, for `poll`. Returns 0 once the deadline has passed.
    var remainingMilliseconds: Int32 {
        let remaining = ContinuousClock.now.duration(to: instant)
        guard remaining > .zero else { return 0 }
        let milliseconds =
            remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(clamping: milliseconds)
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number, for messages.
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
