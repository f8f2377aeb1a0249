import Foundation
import Testing

@testable import PhaseTracking

@Suite struct PhaseTrackerCodingTests {
    @Test func jsonRoundTrip() throws {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.created, at: timeline.current)
        tracker.record(.running, at: timeline.advance(nanoseconds: 1_234_567_891))
        tracker.record(.paused, at: timeline.advance(seconds: 7))

        let data = try JSONEncoder().encode(tracker)
        let decoded = try JSONDecoder().decode(PhaseTracker.self, from: data)
        #expect(decoded == tracker)
    }

    @Test func emptyObjectDecodesToWorkingTracker() throws {
        var tracker = try JSONDecoder().decode(PhaseTracker.self, from: Data("{}".utf8))
        #expect(tracker.isEmpty)

        var timeline = TestTimeline()
        tracker.record(.running, at: timeline.current)
        tracker.record(.stopped, at: timeline.advance(seconds: 4))
        #expect(tracker.accruedNanoseconds[.running] == 4_000_000_000)
        #expect(try JSONEncoder().encode(PhaseTracker()) == Data("{}".utf8))
    }

    @Test func corruptHugeTotalsSaturate() throws {
        var timeline = TestTimeline()
        var tracker = PhaseTracker()
        tracker.record(.stopped, at: timeline.current)
        tracker.accruedNanoseconds[.stopped] = Int64.max - 5
        let later = timeline.advance(seconds: 10)

        #expect(tracker.snapshot(at: later).nanoseconds[.stopped] == Int64.max)
        #expect(tracker.snapshot(at: later).totalNanoseconds == Int64.max)
        tracker.record(.running, at: later)
        #expect(tracker.accruedNanoseconds[.stopped] == Int64.max)

        let early = HostInstant(wallNanoseconds: 0, bootNanoseconds: Int64.min + 1, bootID: "b")
        let late = HostInstant(wallNanoseconds: 0, bootNanoseconds: Int64.max, bootID: "b")
        #expect(late.nanoseconds(since: early) == Int64.max)
        #expect(early.nanoseconds(since: late) == Int64.min)
    }

    @Test func invalidTrackerJSONIsRejected() {
        let cases = [
            #"{"current": "running"}"#,
            #"{"current": "flying", "since": {"time": "2026-01-01T00:00:00Z", "boot_id": "a", "boot_ns": 1}}"#,
            #"{"current": "running", "since": {"time": "yesterday", "boot_id": "a", "boot_ns": 1}}"#,
            #"{"current": "running", "since": {"time": "2026-01-01T00:00:00Z", "boot_id": "a", "boot_ns": 1}, "accrued_ns": {"running": -5}}"#,
        ]
        for json in cases {
            #expect(throws: DecodingError.self, "\(json)") {
                try JSONDecoder().decode(PhaseTracker.self, from: Data(json.utf8))
            }
        }
    }

    @Test func timestampsAreUTCWithZ() throws {
        let instant = HostInstant(wallNanoseconds: 1_772_964_000_123_456_789, bootNanoseconds: 1, bootID: "a")
        #expect(instant.timestamp == "2026-03-08T10:00:00.123456789Z")
        #expect(RFC3339.format(nanosecondsSinceEpoch: -1, fractionDigits: 3) == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339.parse("2026-03-08T10:00:00.123456789Z") == 1_772_964_000_123_456_789)
        #expect(RFC3339.parse("2026-03-08T02:00:00-08:00") == 1_772_964_000_000_000_000)
        #expect(RFC3339.parse("2026-03-08 10:00:00Z") == nil)
        #expect(RFC3339.parse("2026-13-08T10:00:00Z") == nil)
        #expect(RFC3339.parse("2026-03-08T10:00:00") == nil)
        #expect(RFC3339.parse("0442-08-11T00:48:58.8+23:08") == nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59Z") == nil)
        #expect(RFC3339.parse("2262-04-11T23:47:16.854775807Z") == Int64.max)
    }
}
