import PhaseTracking

/// Builds instants for tests: a wall clock and a boot clock that advance together unless a test steps one.
struct TestTimeline {
    /// 2026-03-08T08:00:00Z, a few hours before the US daylight-saving change.
    static let startWallNanoseconds: Int64 = 1_772_956_800 * 1_000_000_000

    var current: HostInstant

    init(bootID: String = "boot-a") {
        current = HostInstant(
            wallNanoseconds: TestTimeline.startWallNanoseconds, bootNanoseconds: 5_000_000_000, bootID: bootID)
    }

    mutating func advance(seconds: Double) -> HostInstant {
        advance(nanoseconds: Int64((seconds * 1_000_000_000).rounded()))
    }

    mutating func advance(nanoseconds: Int64) -> HostInstant {
        current = current.adding(nanoseconds: nanoseconds)
        return current
    }

    /// Moves only the wall clock, as an NTP step or an operator's `date -s` does.
    mutating func stepWallClock(seconds: Int64) {
        current.wallNanoseconds += seconds * 1_000_000_000
    }
}
