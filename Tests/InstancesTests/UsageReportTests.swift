import Foundation
import PhaseTracking
import Testing

@testable import Instances

@Suite struct UsageReportTests {
    /// 2026-03-02T09:00:00Z.
    static let nine: Int64 = 1_772_442_000 * 1_000_000_000
    static let second: Int64 = 1_000_000_000

    static func entry(
        _ sequence: Int, _ from: String?, _ to: String, at wall: Int64, previous: Int64, id: String = "aaaaaaaaaaaaaaaa"
    ) -> JournalEntry {
        JournalEntry(
            cursor: Int64(sequence), instanceID: id, instanceName: "web", sequence: sequence, from: from, to: to,
            instant: HostInstant(wallNanoseconds: wall, bootNanoseconds: wall - nine + 7 * second, bootID: "boot"),
            previousPhaseNanoseconds: previous, source: .operation, estimated: false)
    }

    /// Created at 09:00, running from 09:00:03, deleted at 09:45:30.
    static let deletedInstance = [
        entry(1, nil, "created", at: nine, previous: 0),
        entry(2, "created", "initializing", at: nine, previous: 0),
        entry(3, "initializing", "running", at: nine + 3 * second, previous: 3 * second),
        entry(4, "running", "deleted", at: nine + 2_730 * second, previous: 2_727 * second),
    ]

    static func now(_ wall: Int64) -> HostInstant {
        HostInstant(wallNanoseconds: wall, bootNanoseconds: wall - nine + 7 * second, bootID: "boot")
    }

    @Test func deletedInstanceCountsOnce() {
        let rows = UsageReport.compute(
            entries: Self.deletedInstance, fromNanoseconds: Self.nine, toNanoseconds: Self.nine + 3_600 * Self.second,
            now: Self.now(Self.nine + 7_200 * Self.second), grouping: .instance)
        let running = rows.filter { $0.phase == "running" }
        #expect(running.count == 1)
        #expect(running.first?.milliseconds == 2_727_000)
        #expect(rows.first { $0.phase == "initializing" }?.milliseconds == 3_000)
        #expect(!rows.contains { $0.phase == "deleted" })

        let later = UsageReport.compute(
            entries: Self.deletedInstance, fromNanoseconds: Self.nine + 3_600 * Self.second,
            toNanoseconds: Self.nine + 7_200 * Self.second, now: Self.now(Self.nine + 7_200 * Self.second),
            grouping: .instance)
        #expect(later.isEmpty)
    }

    @Test func sameWindowGivesSameRows() {
        let ask = {
            UsageReport.compute(
                entries: Self.deletedInstance, fromNanoseconds: Self.nine,
                toNanoseconds: Self.nine + 3_600 * Self.second,
                now: Self.now(Self.nine + 7_200 * Self.second), grouping: .instance)
        }
        let first = ask()
        let second = ask()
        #expect(first == second)
        #expect(Set(first.map(\.idempotencyKey)).count == first.count)
        #expect(first.allSatisfy { $0.idempotencyKey.contains("aaaaaaaaaaaaaaaa") })
    }

    @Test func phaseAcrossMidnightSplitsByDay() {
        let midnight = Self.nine + 15 * 3_600 * Self.second  // 2026-03-03T00:00:00Z
        let entries = [
            Self.entry(1, nil, "running", at: midnight - 600 * Self.second, previous: 0),
            Self.entry(2, "running", "stopped", at: midnight + 1_200 * Self.second, previous: 1_800 * Self.second),
        ]
        let rows = UsageReport.compute(
            entries: entries, fromNanoseconds: midnight - 86_400 * Self.second,
            toNanoseconds: midnight + 86_400 * Self.second, now: Self.now(midnight + 1_200 * Self.second),
            grouping: .day)
        let running = rows.filter { $0.phase == "running" }
        #expect(running.map(\.milliseconds) == [600_000, 1_200_000])
        #expect(running.map(\.from) == ["2026-03-02T00:00:00.000Z", "2026-03-03T00:00:00.000Z"])
    }

    @Test func windowEdgesClipIntervals() {
        let entries = [Self.entry(1, nil, "running", at: Self.nine, previous: 0)]
        let rows = UsageReport.compute(
            entries: entries, fromNanoseconds: Self.nine + 60 * Self.second,
            toNanoseconds: Self.nine + 120 * Self.second, now: Self.now(Self.nine + 90 * Self.second),
            grouping: .instance)
        #expect(rows.map(\.milliseconds) == [30_000])
    }
}
