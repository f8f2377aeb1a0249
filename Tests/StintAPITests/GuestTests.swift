import Foundation
import Instances
import PhaseTracking
import Testing

/// The suites that boot real QEMU guests (TCG) behind `stint serve`. They run one test at a time: on two cores,
/// guests booting in parallel slow each other down past the timeouts.
@Suite(.serialized) struct GuestTests {}

/// A guest program that prints `count=N` five times a second.
let counterCommand = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo count=$i; sleep 0.2; done"]

/// The body of a create request for a counter guest with 128 MiB that responds once the guest runs.
func createBody(name: String) -> [String: Any] {
    ["name": name, "command": counterCommand, "memory_mib": 128, "wait_for": "running", "wait_timeout_seconds": 90]
}

/// The counter values in a serial log, in order.
func counts(in log: String) -> [Int] {
    log.split(separator: "\n").compactMap { line in
        guard let range = line.range(of: "count=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }
}

/// Nanoseconds since 1970 on the wall clock.
func wallClockNow() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1_000_000_000)
}

/// Checks the three phase fields of `view`: present together, `current_phase` among the durations, the durations
/// adding up to the time since creation as of the response (taken between `sentAt` and `receivedAt`, wall-clock
/// nanoseconds), within 50 ms for clock reading differences.
func expectPhaseFields(
    _ view: InstanceView, phase: String, sentAt: Int64, receivedAt: Int64,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(view.currentPhase == phase, "current_phase of \(view.name ?? view.id)", sourceLocation: sourceLocation)
    guard let since = view.currentPhaseSince, let durations = view.phaseDurationsMilliseconds,
        let createdAt = view.createdAt
    else {
        Issue.record("phase fields missing in \(view)", sourceLocation: sourceLocation)
        return
    }
    #expect(since.hasSuffix("Z"), "current_phase_since \(since)", sourceLocation: sourceLocation)
    #expect(durations.keys.contains(phase), "durations \(durations) lack \(phase)", sourceLocation: sourceLocation)
    #expect(
        durations.values.allSatisfy { $0 >= 0 }, "negative duration in \(durations)", sourceLocation: sourceLocation)
    guard let created = RFC3339.parse(createdAt), let sinceNanoseconds = RFC3339.parse(since) else {
        Issue.record("unparsable timestamps \(createdAt), \(since)", sourceLocation: sourceLocation)
        return
    }
    #expect(sinceNanoseconds >= created, "current_phase_since before created_at", sourceLocation: sourceLocation)
    let total = durations.values.reduce(0, +)
    let lower = (sentAt - created) / 1_000_000 - 50
    let upper = (receivedAt - created) / 1_000_000 + 50
    #expect(
        total >= lower && total <= upper, "durations add up to \(total) ms, expected \(lower)...\(upper): \(durations)",
        sourceLocation: sourceLocation)
}

/// Sends a request and returns the decoded instance with the wall-clock times around it.
func timedInstance(
    _ client: APIClient, _ method: String, _ target: String, json: Any? = nil, expecting status: Int = 200
) throws -> (view: InstanceView, sentAt: Int64, receivedAt: Int64) {
    let sentAt = wallClockNow()
    let view = try client.instance(method, target, json: json, expecting: status)
    return (view, sentAt, wallClockNow())
}
