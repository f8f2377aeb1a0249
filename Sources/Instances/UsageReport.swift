import PhaseTracking

/// The time each instance spent in each phase inside a window, computed from the journal.
public enum UsageReport {
    /// The split of rows.
    public enum Grouping: String, Sendable {
        /// One row per instance and phase for the whole window.
        case instance
        /// One row per instance, phase and UTC day inside the window.
        case day
    }

    /// One line of a usage report.
    public struct Row: Codable, Sendable, Equatable {
        public var instanceID: String
        public var instanceName: String
        public var phase: String
        /// The part of the window this row covers, UTC RFC 3339.
        public var from: String
        public var to: String
        /// Whole milliseconds, the floor of the exact time in the phase inside `from` to `to`.
        public var milliseconds: Int64
        /// The same for the same instance, phase and window every time it is asked, so a billing pipeline can
        /// deduplicate rows it has already charged.
        ///
        /// NOTE: while a window has not ended, a live instance's row keeps growing under the same key, so only rows
        /// of a window that ended before the request are final.
        public var idempotencyKey: String

        private enum CodingKeys: String, CodingKey {
            case instanceID = "instance_id"
            case instanceName = "instance_name"
            case phase, from, to, milliseconds
            case idempotencyKey = "idempotency_key"
        }
    }

    /// Computes the rows for the window `[fromNanoseconds, toNanoseconds)` (wall-clock nanoseconds since 1970, UTC).
    ///
    /// Each journal entry opens an interval in its phase that lasts until the next entry of the same instance, for
    /// exactly the next entry's recorded duration, anchored at the entry's wall-clock time. The last interval of an
    /// instance that is not deleted lasts until `now`. Intervals are clipped at the window's edges; `deleted` ends
    /// an instance's usage. Rows with zero milliseconds are left out.
    public static func compute(
        entries: [JournalEntry], fromNanoseconds: Int64, toNanoseconds: Int64, now: HostInstant, grouping: Grouping
    ) -> [Row] {
        var totals:
            [String: (name: String, phase: String, from: Int64, to: Int64, instance: String, nanoseconds: Int64)] =
                [:]
        let byInstance = Dictionary(grouping: entries, by: \.instanceID)
        for (instanceID, unsorted) in byInstance {
            let ordered = unsorted.sorted { $0.sequence < $1.sequence }
            let name = ordered.last?.instanceName ?? instanceID
            for (index, entry) in ordered.enumerated() where entry.to != "deleted" {
                let length: Int64
                if index + 1 < ordered.count {
                    length = ordered[index + 1].previousPhaseNanoseconds
                } else {
                    length = max(0, now.nanoseconds(since: entry.instant))
                }
                let start = entry.instant.wallNanoseconds
                for bucket in buckets(from: fromNanoseconds, to: toNanoseconds, grouping: grouping) {
                    let overlap = min(start + length, bucket.to) - max(start, bucket.from)
                    guard overlap > 0 else { continue }
                    let key = "\(instanceID)|\(entry.to)|\(bucket.from)|\(bucket.to)"
                    totals[key, default: (name, entry.to, bucket.from, bucket.to, instanceID, 0)].nanoseconds += overlap
                }
            }
        }
        return totals.values.map { total in
            let from = RFC3339.format(nanosecondsSinceEpoch: total.from, fractionDigits: 3)
            let to = RFC3339.format(nanosecondsSinceEpoch: total.to, fractionDigits: 3)
            return Row(
                instanceID: total.instance, instanceName: total.name, phase: total.phase, from: from, to: to,
                milliseconds: total.nanoseconds / 1_000_000,
                idempotencyKey: "\(total.instance)/\(total.phase)/\(from)/\(to)")
        }
        .filter { $0.milliseconds > 0 }
        .sorted {
            ($0.instanceName, $0.instanceID, $0.from, phaseOrder($0.phase)) < (
                $1.instanceName, $1.instanceID, $1.from, phaseOrder($1.phase)
            )
        }
    }

    private static func phaseOrder(_ phase: String) -> Int {
        Phase(rawValue: phase).flatMap { Phase.allCases.firstIndex(of: $0) } ?? Phase.allCases.count
    }

    /// Returns the window itself, or its parts cut at UTC midnight.
    static func buckets(from: Int64, to: Int64, grouping: Grouping) -> [(from: Int64, to: Int64)] {
        guard to > from else { return [] }
        guard grouping == .day else { return [(from, to)] }
        let day: Int64 = 86_400 * 1_000_000_000
        var result: [(from: Int64, to: Int64)] = []
        var start = from
        while start < to {
            let dayStart = start >= 0 ? (start / day) * day : ((start - day + 1) / day) * day
            let end = min(dayStart + day, to)
            result.append((start, end))
            start = end
        }
        return result
    }
}
