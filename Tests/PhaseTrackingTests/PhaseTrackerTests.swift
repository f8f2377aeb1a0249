import Foundation
import Testing

@testable import PhaseTracking

@Suite struct PhaseTrackerTests {
    @Test func firstTransitionAccruesNothing() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        let transition = tracker.record(.created, at: timeline.current)

        #expect(transition?.from == nil)
        #expect(transition?.nanosecondsInPreviousPhase == 0)
        #expect(tracker.currentPhase == .created)
        #expect(tracker.since == timeline.current)
        #expect(tracker.snapshot(at: timeline.current).totalNanoseconds == 0)
        #expect(tracker.snapshot(at: timeline.advance(seconds: 2)).milliseconds(in: .created) == 2_000)
    }

    @Test func runningStandbyRunningTotals() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        tracker.record(.standby, at: timeline.advance(seconds: 60))
        tracker.record(.running, at: timeline.advance(seconds: 300))
        let snapshot = tracker.snapshot(at: timeline.advance(seconds: 30))

        #expect(snapshot.milliseconds(in: .running) == 90_000)
        #expect(snapshot.milliseconds(in: .standby) == 300_000)
        #expect(snapshot.currentPhase == .running)
    }

    @Test func snapshotLeavesTrackerUnchanged() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        let before = tracker
        let snapshot = tracker.snapshot(at: timeline.advance(seconds: 10))

        #expect(snapshot.milliseconds(in: .running) == 10_000)
        #expect(tracker == before)
        #expect(tracker.accruedNanoseconds[.running] == nil)
    }

    @Test func copiesAreIndependentBothWays() {
        var timeline = TestTimeline()
        var source = PhaseTracker()
        source.record(.running, at: timeline.current)
        var copy = source

        copy.record(.paused, at: timeline.advance(seconds: 5))
        #expect(source.currentPhase == .running)
        #expect(source.accruedNanoseconds[.running] == nil)

        source.record(.stopped, at: timeline.advance(seconds: 5))
        #expect(copy.currentPhase == .paused)
        #expect(copy.accruedNanoseconds[.running] == 5_000_000_000)
        #expect(source.accruedNanoseconds[.running] == 10_000_000_000)
    }

    @Test func recordingCurrentPhaseAgainIsNoOp() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        let since = tracker.since

        #expect(tracker.record(.running, at: timeline.advance(seconds: 3)) == nil)
        #expect(tracker.since == since)
        #expect(tracker.transitionCount == 1)
    }

    @Test func earlierStampIsClampedToSince() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.advance(seconds: 100))
        let since = timeline.current
        let stale = since.adding(nanoseconds: -40_000_000_000)

        let transition = tracker.record(.paused, at: stale)
        #expect(transition?.at == since)
        #expect(transition?.nanosecondsInPreviousPhase == 0)
        #expect(tracker.since == since)
        #expect(tracker.accruedNanoseconds.values.allSatisfy { $0 >= 0 })
        #expect(tracker.snapshot(at: stale).nanoseconds[.paused] == 0)
    }

    @Test func resetEmptiesTracker() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        tracker.record(.stopped, at: timeline.advance(seconds: 1))
        tracker.reset()

        #expect(tracker.isEmpty)
        #expect(tracker == PhaseTracker())
        #expect(tracker.snapshot(at: timeline.advance(seconds: 1)).nanoseconds.isEmpty)
    }

    @Test func thousandShortPhasesHaveNoTruncationDrift() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        for index in 1...1_000 {
            tracker.record(index.isMultiple(of: 2) ? .running : .paused, at: timeline.advance(seconds: 1.0004))
        }
        let snapshot = tracker.snapshot(at: timeline.current)

        #expect(snapshot.totalNanoseconds / 1_000_000 == 1_000_400)
        #expect(snapshot.milliseconds(in: .running) == 500_200)
        #expect(snapshot.milliseconds(in: .paused) == 500_200)
    }

    @Test func conservationOverRandomSequences() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<200 {
            var timeline = TestTimeline()
            var tracker = PhaseTracker()
            let first = timeline.current
            tracker.record(.created, at: first)
            for _ in 0..<Int.random(in: 1...60, using: &generator) {
                let step = Int64.random(in: -2_000_000_000...90_000_000_000, using: &generator)
                let instant = timeline.current.adding(nanoseconds: step)
                if step > 0 { timeline.current = instant }
                tracker.record(Phase.allCases.randomElement(using: &generator) ?? .running, at: instant)
            }
            let end = timeline.advance(nanoseconds: Int64.random(in: 0...10_000_000_000, using: &generator))
            let snapshot = tracker.snapshot(at: end)
            let elapsed = end.nanoseconds(since: first)

            #expect(snapshot.totalNanoseconds == elapsed)
            let millisecondSum = snapshot.milliseconds.values.reduce(0, +)
            #expect(elapsed / 1_000_000 - millisecondSum <= Int64(snapshot.nanoseconds.count))
            #expect(millisecondSum <= elapsed / 1_000_000)
            #expect(snapshot.nanoseconds.values.allSatisfy { $0 >= 0 })
        }
    }

    @Test func wallClockStepsDoNotChangeDuration() {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        _ = timeline.advance(seconds: 10)
        timeline.stepWallClock(seconds: -3_600)
        _ = timeline.advance(seconds: 10)
        timeline.stepWallClock(seconds: 86_400)
        tracker.record(.stopped, at: timeline.advance(seconds: 10))

        #expect(tracker.accruedNanoseconds[.running] == 30_000_000_000)
        #expect(tracker.snapshot(at: timeline.current).milliseconds(in: .running) == 30_000)
    }

    @Test func hostRebootFallsBackToWallClock() {
        let timeline = TestTimeline(bootID: "boot-a")
        var tracker = PhaseTracker()
        tracker.record(.running, at: timeline.current)
        let afterReboot = HostInstant(
            wallNanoseconds: timeline.current.wallNanoseconds + 120_000_000_000,
            bootNanoseconds: 1_000_000_000, bootID: "boot-b")
        tracker.record(.stopped, at: afterReboot)

        #expect(tracker.accruedNanoseconds[.running] == 120_000_000_000)
        #expect(tracker.since == afterReboot)
    }
}

/// A small seeded generator so the random sequences are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
