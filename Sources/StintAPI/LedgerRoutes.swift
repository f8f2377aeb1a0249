import Foundation
import HTTPServer
import Instances
import PhaseTracking

/// The usage and transition routes, read from the journal.
extension InstanceAPI {
    /// `GET /usage?from=&to=[&instance=][&group_by=instance|day]`.
    func usage(_ request: HTTPRequest) throws -> HTTPResponse {
        try request.requireQuery(allowed: ["from", "to", "instance", "group_by"])
        let from = try timestamp(request, "from")
        let to = try timestamp(request, "to")
        let grouping: UsageReport.Grouping
        switch request.query["group_by"] ?? "instance" {
        case "instance": grouping = .instance
        case "day": grouping = .day
        case let other: throw APIError.badRequest("invalid group_by '\(other)'; use instance or day")
        }
        let rows = try manager.usage(
            fromNanoseconds: from, toNanoseconds: to, instance: request.query["instance"], grouping: grouping)
        return try json(
            200,
            UsageResponse(
                from: RFC3339.format(nanosecondsSinceEpoch: from, fractionDigits: 3),
                to: RFC3339.format(nanosecondsSinceEpoch: to, fractionDigits: 3), groupBy: grouping.rawValue, rows: rows
            ))
    }

    /// `GET /instances/{id}/transitions?after=SEQUENCE&limit=N&wait=SECONDS`.
    func instanceTransitions(_ request: HTTPRequest, reference: String) throws -> HTTPResponse {
        try request.requireQuery(allowed: ["after", "limit", "wait"])
        let (after, limit, wait) = try feedParameters(request)
        let result = try manager.transitions(of: reference, afterSequence: Int(after), limit: limit, wait: wait)
        let next = result.entries.last.map { Int64($0.sequence) } ?? after
        return try json(
            200, TransitionsResponse(instanceID: result.instanceID, transitions: result.entries, nextAfter: next))
    }

    /// `GET /transitions?after=CURSOR&limit=N&wait=SECONDS`: every instance's transitions in cursor order.
    func allTransitions(_ request: HTTPRequest) throws -> HTTPResponse {
        try request.requireQuery(allowed: ["after", "limit", "wait"])
        let (after, limit, wait) = try feedParameters(request)
        let entries = try manager.transitions(afterCursor: after, limit: limit, wait: wait)
        return try json(
            200, TransitionsResponse(instanceID: nil, transitions: entries, nextAfter: entries.last?.cursor ?? after))
    }

    private func feedParameters(_ request: HTTPRequest) throws -> (Int64, Int, Duration) {
        var after: Int64 = 0
        if let text = request.query["after"] {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest(
                    "invalid after '\(text)'; give the last sequence or cursor you read, 0 or more")
            }
            after = value
        }
        var limit = 100
        if let text = request.query["limit"] {
            guard let value = Int(text), (1...1_000).contains(value) else {
                throw APIError.badRequest("invalid limit '\(text)'; give 1 to 1000")
            }
            limit = value
        }
        var wait = Duration.zero
        if let text = request.query["wait"] {
            guard let value = Double(text), value >= 0, value <= 60 else {
                throw APIError.badRequest("invalid wait '\(text)'; give seconds from 0 to 60")
            }
            wait = .milliseconds(Int64(value * 1000))
        }
        return (after, limit, wait)
    }

    private func timestamp(_ request: HTTPRequest, _ name: String) throws -> Int64 {
        guard let text = request.query[name] else {
            throw APIError.badRequest("missing '\(name)'; give an RFC 3339 time such as 2026-01-31T00:00:00Z")
        }
        guard let value = RFC3339.parse(text) else {
            throw APIError.badRequest("invalid \(name) '\(text)'; give an RFC 3339 time such as 2026-01-31T00:00:00Z")
        }
        return value
    }
}

/// The response of `GET /usage`.
struct UsageResponse: Encodable {
    var from: String
    var to: String
    var groupBy: String
    var rows: [UsageReport.Row]

    enum CodingKeys: String, CodingKey {
        case from, to
        case groupBy = "group_by"
        case rows
    }
}

/// The response of the transition feeds. `next_after` is the value to pass as `after` to continue.
struct TransitionsResponse: Codable {
    var instanceID: String?
    var transitions: [JournalEntry]
    var nextAfter: Int64

    enum CodingKeys: String, CodingKey {
        case instanceID = "instance_id"
        case transitions
        case nextAfter = "next_after"
    }
}
