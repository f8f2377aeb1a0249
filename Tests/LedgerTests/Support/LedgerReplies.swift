import Foundation
import Instances
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The body of `GET /usage`.
struct UsageReply: Decodable, Equatable {
    var from: String
    var to: String
    var groupBy: String
    var rows: [UsageReport.Row]

    enum CodingKeys: String, CodingKey {
        case from, to
        case groupBy = "group_by"
        case rows
    }

    /// Milliseconds per phase of one instance, summed over the rows (over the days for `group_by=day`).
    func milliseconds(of instanceID: String) -> [String: Int64] {
        var totals: [String: Int64] = [:]
        for row in rows where row.instanceID == instanceID {
            totals[row.phase, default: 0] += row.milliseconds
        }
        return totals
    }
}

/// The body of `GET /transitions` and `GET /instances/{id}/transitions`.
struct TransitionsReply: Decodable {
    var instanceID: String?
    var transitions: [JournalEntry]
    var nextAfter: Int64

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case transitions
        case nextAfter = "next_after"
    }
}

/// A guest program that runs until the guest is stopped and prints nothing.
let idleProgram = ["sh", "-c", "while true; do sleep 1; done"]

/// Creates an instance through the API and waits until its guest has printed both boot markers.
func createRunningInstance(_ client: LoopbackHTTPClient, name: String) throws -> InstanceView {
    let command = idleProgram.map { "\"\($0)\"" }.joined(separator: ",")
    return try client.decode(
        InstanceView.self, "POST", "/instances",
        json: #"{"name":"\#(name)","command":[\#(command)],"wait_for":"running","wait_timeout_seconds":120}"#,
        expecting: 201)
}

/// Runs a lifecycle operation (`pause`, `resume`, `standby`, `restore`, `stop`) through the API.
@discardableResult
func perform(_ operation: String, on reference: String, _ client: LoopbackHTTPClient) throws -> InstanceView {
    let body = operation == "stop" ? #"{"timeout_seconds":5}"# : nil
    return try client.decode(InstanceView.self, "POST", "/instances/\(reference)/\(operation)", json: body)
}

/// Returns the wall clock now, in nanoseconds since 1970.
func wallNanosecondsNow() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// Formats an RFC 3339 timestamp with milliseconds, as the usage window takes it.
func timestamp(_ nanoseconds: Int64) -> String {
    RFC3339.format(nanosecondsSinceEpoch: nanoseconds, fractionDigits: 3)
}

/// `/usage?from=&to=` with optional extra query parameters.
func usagePath(from: Int64, to: Int64, extra: String = "") -> String {
    "/usage?from=\(timestamp(from))&to=\(timestamp(to))" + (extra.isEmpty ? "" : "&" + extra)
}
