/// One sample line of the Prometheus text exposition format.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Parses the sample lines of `text`, skipping comments. Label values may contain escaped quotes, backslashes and
/// line feeds. Throws on a line that is not a sample.
func parseMetricSamples(_ text: String) throws -> [MetricSample] {
    var samples: [MetricSample] = []
    for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
        var rest = Substring(line)
        let name = rest.prefix { $0 != "{" && $0 != " " }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw TestFailure("invalid label in '\(line)'") }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard rest.first == "\"" else { throw TestFailure("unterminated label value in '\(line)'") }
                rest = rest.dropFirst()
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { throw TestFailure("unterminated labels in '\(line)'") }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard let valueText = fields.first, let value = Double(valueText) else {
            throw TestFailure("no sample value in '\(line)'")
        }
        samples.append(MetricSample(name: String(name), labels: labels, value: value))
    }
    return samples
}

extension [MetricSample] {
    /// Returns the value per phase of one metric for one instance.
    func phaseValues(_ name: String, instanceID: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for sample in self where sample.name == name && sample.labels["instance_id"] == instanceID {
            values[sample.labels["phase"] ?? ""] = sample.value
        }
        return values
    }
}
