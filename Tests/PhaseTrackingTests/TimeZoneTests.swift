import Foundation
import Testing

@testable import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// Changes the process's time zone, so these tests run one at a time.
@Suite(.serialized) struct TimeZoneTests {
    @Test func daylightSavingChangeLeavesDurationsAlone() throws {
        let previous = ProcessInfo.processInfo.environment["TZ"]
        setenv("TZ", "America/Los_Angeles", 1)
        tzset()
        defer {
            if let previous { setenv("TZ", previous, 1) } else { unsetenv("TZ") }
            tzset()
        }

        // 2026-03-08T09:30:00Z is 01:30 PST; the clocks in Los Angeles jump from 02:00 to 03:00 an hour later.
        let start = HostInstant(wallNanoseconds: 1_772_962_200 * 1_000_000_000, bootNanoseconds: 0, bootID: "a")
        var tracker = PhaseTracker()
        tracker.record(.running, at: start)
        tracker.record(.paused, at: start.adding(nanoseconds: 3_600_000_000_000))
        let end = start.adding(nanoseconds: 5_400_000_000_000)
        let snapshot = tracker.snapshot(at: end)

        #expect(snapshot.milliseconds(in: .running) == 3_600_000)
        #expect(snapshot.milliseconds(in: .paused) == 1_800_000)
        #expect(start.timestamp == "2026-03-08T09:30:00.000000000Z")
        #expect(end.timestamp == "2026-03-08T11:00:00.000000000Z")

        let json = String(decoding: try JSONEncoder().encode(tracker), as: UTF8.self)
        let timestamps = json.split(separator: "\"").filter { $0.hasPrefix("2026-") }
        #expect(timestamps.count == 2)
        #expect(timestamps.allSatisfy { $0.hasSuffix("Z") })
    }
}
