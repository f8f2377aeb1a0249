import Synchronization

/// Durations of the operations this server ran, as a Prometheus histogram per operation.
///
/// NOTE: operations run by the CLI on the data directory do not pass through the server and are not counted here.
final class OperationMetrics: Sendable {
    /// Upper bounds of the buckets in seconds; guests boot in seconds under TCG and standby takes a fraction of one.
    static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    private struct Histogram {
        var bucketCounts = [UInt64](repeating: 0, count: OperationMetrics.bucketBounds.count)
        var count: UInt64 = 0
        var sum: Double = 0
    }

    private let histograms = Mutex<[String: Histogram]>([:])

    func observe(_ operation: String, seconds: Double) {
        histograms.withLock { histograms in
            var histogram = histograms[operation] ?? Histogram()
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound {
                histogram.bucketCounts[index] += 1
            }
            histogram.count += 1
            histogram.sum += seconds
            histograms[operation] = histogram
        }
    }

    /// Renders the histogram in the Prometheus text format.
    func render() -> String {
        let snapshot = histograms.withLock { $0 }
        var text = """
            # HELP stint_operation_duration_seconds Duration of lifecycle operations served by this server.
            # TYPE stint_operation_duration_seconds histogram

            """
        for operation in snapshot.keys.sorted() {
            guard let histogram = snapshot[operation] else { continue }
            let label = PrometheusText.escape(operation)
            for (index, bound) in Self.bucketBounds.enumerated() {
                text +=
                    "stint_operation_duration_seconds_bucket{operation=\"\(label)\",le=\"\(PrometheusText.number(bound))\"} \(histogram.bucketCounts[index])\n"
            }
            text += "stint_operation_duration_seconds_bucket{operation=\"\(label)\",le=\"+Inf\"} \(histogram.count)\n"
            text +=
                "stint_operation_duration_seconds_sum{operation=\"\(label)\"} \(PrometheusText.number(histogram.sum))\n"
            text += "stint_operation_duration_seconds_count{operation=\"\(label)\"} \(histogram.count)\n"
        }
        return text
    }
}
