import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension LedgerGuestTests {
    /// `GET /usage` after a whole life through the server: create, pause, resume, standby, restore, stop, delete.
    @Suite struct UsageScenarioTests {
        @Test func usageMatchesPhaseTotals() throws {
            let workspace = try LedgerWorkspace()
            defer { workspace.cleanUp() }
            let server = try LedgerServer(workspace)
            defer { server.stop() }
            let client = server.client
            let windowStart = wallNanosecondsNow() - 1_000_000_000

            let created = try createRunningInstance(client, name: "billed")
            let id = created.id
            usleep(800_000)
            #expect(try perform("pause", on: id, client).currentPhase == "paused")
            usleep(400_000)
            #expect(try perform("resume", on: id, client).currentPhase == "running")
            usleep(400_000)
            #expect(try perform("standby", on: id, client).currentPhase == "standby")
            usleep(600_000)
            #expect(try perform("restore", on: id, client).currentPhase == "running")
            usleep(400_000)
            #expect(try perform("stop", on: id, client).currentPhase == "stopped")

            let before = try client.decode(InstanceView.self, "GET", "/instances/\(id)")
            let readAt = wallNanosecondsNow()
            let deleted = try client.send("DELETE", "/instances/\(id)")
            let deletedBy = wallNanosecondsNow()
            #expect(deleted.status == 204, "DELETE returned \(deleted.status): \(deleted.text)")
            let totals = try #require(before.phaseDurationsMilliseconds)
            #expect(before.currentPhase == "stopped")
            for phase in ["created", "initializing", "running", "paused", "standby", "stopped"] {
                #expect((totals[phase] ?? 0) > 0, "phase \(phase) accrued nothing before delete: \(totals)")
            }

            let windowEnd = deletedBy + 1_000_000_000
            let usage = try client.decode(UsageReply.self, "GET", usagePath(from: windowStart, to: windowEnd))
            let billed = usage.milliseconds(of: id)
            #expect(Set(billed.keys) == Set(totals.filter { $0.value > 0 }.keys))
            // Phases closed before the read were accrued from the same exact nanoseconds that the journal entries
            // carry, and both sides take the floor of that sum, so they match to the millisecond.
            for (phase, milliseconds) in totals where phase != "stopped" {
                #expect(billed[phase] == milliseconds, "phase \(phase): usage \(billed[phase] ?? -1) ms")
            }
            // The phase current at delete kept accruing between the read and the delete, which records the final
            // entry. That lag is at most the time the two requests took, plus one for the floor.
            let lagMilliseconds = (deletedBy - readAt) / 1_000_000 + 1
            let stoppedBefore = totals["stopped"] ?? 0
            let stoppedBilled = billed["stopped"] ?? -1
            #expect(stoppedBilled >= stoppedBefore)
            #expect(stoppedBilled <= stoppedBefore + lagMilliseconds, "stopped: \(stoppedBilled) ms")

            // Conservation: the phases add up to the time from the first entry to the final one, less at most one
            // millisecond per phase that the floor drops.
            let entries = try client.decode(TransitionsReply.self, "GET", "/instances/\(id)/transitions").transitions
            let first = try #require(entries.first)
            let last = try #require(entries.last)
            #expect(first.to == "created")
            #expect(last.to == "deleted")
            let lifetime = last.instant.nanoseconds(since: first.instant) / 1_000_000
            let sum = billed.values.reduce(0, +)
            #expect(sum <= lifetime)
            #expect(sum >= lifetime - Int64(billed.count), "phases sum to \(sum) ms of a \(lifetime) ms life")

            let again = try client.decode(UsageReply.self, "GET", usagePath(from: windowStart, to: windowEnd))
            #expect(again == usage)
            #expect(again.rows.map(\.idempotencyKey) == usage.rows.map(\.idempotencyKey))
            #expect(Set(usage.rows.map(\.idempotencyKey)).count == usage.rows.count)

            let later = try client.decode(
                UsageReply.self, "GET", usagePath(from: deletedBy + 1_000_000, to: deletedBy + 3_600_000_000_000))
            #expect(later.rows.filter { $0.instanceID == id }.isEmpty, "rows after delete: \(later.rows)")

            // A window from a day before to a day after crosses at least two UTC midnights, so it has three or
            // more day buckets. Each bucket takes its own floor, so a phase split over k days may lose k - 1 ms.
            let day: Int64 = 86_400_000_000_000
            let wideFrom = windowStart - day
            let wideTo = windowEnd + day
            let byInstance = try client.decode(UsageReply.self, "GET", usagePath(from: wideFrom, to: wideTo))
            let byDay = try client.decode(
                UsageReply.self, "GET", usagePath(from: wideFrom, to: wideTo, extra: "group_by=day"))
            #expect(byDay.groupBy == "day")
            #expect(byInstance.milliseconds(of: id) == billed)
            let dailyTotals = byDay.milliseconds(of: id)
            for (phase, milliseconds) in billed {
                let days = Int64(byDay.rows.filter { $0.instanceID == id && $0.phase == phase }.count)
                let daily = dailyTotals[phase] ?? -1
                #expect(daily <= milliseconds, "\(phase): \(daily) ms by day, \(milliseconds) ms in all")
                #expect(
                    daily >= milliseconds - max(0, days - 1), "\(phase): \(daily) ms by day, \(milliseconds) ms in all")
            }
            for row in byDay.rows where row.from != byDay.from {
                #expect(row.from.hasSuffix("T00:00:00.000Z"), "a day row starts at \(row.from)")
            }
        }
    }
}
