import Foundation
import Instances
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
enum PrometheusText {
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders the instance, journal, operation and process metrics.
    static func render(manager: InstanceManager, operations: OperationMetrics) throws -> String {
        var text = ""
        let statuses = manager.list()

        text += """
            # HELP stint_instance_phase_seconds_total Time an instance has spent in a phase, the current phase counted up to the scrape; persisted in the instance's metadata, so it does not drop across restarts.
            # TYPE stint_instance_phase_seconds_total counter

            """
        for status in statuses {
            guard let metadata = status.metadata, let phases = status.phases else { continue }
            for phase in Phase.allCases {
                let nanoseconds = phases.nanoseconds[phase] ?? 0
                text +=
                    "stint_instance_phase_seconds_total{\(labels(metadata, phase))} \(number(Double(nanoseconds) / 1e9))\n"
            }
        }

        text += """
            # HELP stint_instance_current_phase 1 for the phase an instance is in, 0 for the others.
            # TYPE stint_instance_current_phase gauge

            """
        for status in statuses {
            guard let metadata = status.metadata, let current = status.phases?.currentPhase else { continue }
            for phase in Phase.allCases {
                text += "stint_instance_current_phase{\(labels(metadata, phase))} \(phase == current ? 1 : 0)\n"
            }
        }

        text += """
            # HELP stint_transitions_total Transitions into each phase recorded in the journal, over every instance ever created (deleted for the final entry of a deleted instance).
            # TYPE stint_transitions_total counter

            """
        for (phase, count) in try manager.transitionCounts().sorted(by: { $0.key < $1.key }) {
            text += "stint_transitions_total{phase=\"\(escape(phase))\"} \(count)\n"
        }

        text += operations.render()
        text += processMetrics()
        return text
    }

    private static func labels(_ metadata: InstanceMetadata, _ phase: Phase) -> String {
        "instance_id=\"\(escape(metadata.id))\",name=\"\(escape(metadata.name))\",phase=\"\(phase.rawValue)\""
    }

    /// Renders the standard `process_*` metrics, read from /proc/self.
    static func processMetrics() -> String {
        var text = ""
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name, starting with field 3 (state).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 22, let user = Double(fields[11]), let system = Double(fields[12]),
                let start = Double(fields[19]), let virtual = Double(fields[20]), let resident = Double(fields[21])
            {
                let bootTime = Self.bootTime()
                text += """
                    # HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
                    # TYPE process_cpu_seconds_total counter
                    process_cpu_seconds_total \(number((user + system) / ticksPerSecond))
                    # HELP process_virtual_memory_bytes Virtual memory size in bytes.
                    # TYPE process_virtual_memory_bytes gauge
                    process_virtual_memory_bytes \(number(virtual))
                    # HELP process_resident_memory_bytes Resident memory size in bytes.
                    # TYPE process_resident_memory_bytes gauge
                    process_resident_memory_bytes \(number(resident * pageSize))
                    # HELP process_start_time_seconds Start time of the process since the Unix epoch in seconds.
                    # TYPE process_start_time_seconds gauge
                    process_start_time_seconds \(number(bootTime + start / ticksPerSecond))

                    """
            }
        }
        let openDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        text += """
            # HELP process_open_fds Number of open file descriptors.
            # TYPE process_open_fds gauge
            process_open_fds \(openDescriptors)
            # HELP process_max_fds Maximum number of open file descriptors.
            # TYPE process_max_fds gauge
            process_max_fds \(limit.rlim_cur)

            """
        return text
    }

    private static func bootTime() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6)) ?? 0
        }
        return 0
    }

    /// Escapes a label value: backslash, double quote and line feed.
    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    /// Formats a sample value without exponent noise for whole numbers.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return String(value)
    }
}
