import Foundation
import Instances
import PhaseTracking

/// Human-readable output: durations, tables and phase summaries.
enum Formatting {
    /// `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
    static func duration(milliseconds: Int64) -> String {
        if milliseconds < 1_000 { return "\(milliseconds)ms" }
        let seconds = milliseconds / 1_000
        if seconds < 60 { return String(format: "%.1fs", Double(milliseconds) / 1_000) }
        if seconds < 3_600 { return String(format: "%dm%02ds", seconds / 60, seconds % 60) }
        if seconds < 86_400 { return String(format: "%dh%02dm", seconds / 3_600, (seconds % 3_600) / 60) }
        return String(format: "%dd%02dh", seconds / 86_400, (seconds % 86_400) / 3_600)
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    static func since(_ view: InstanceView) -> String {
        view.currentPhaseSince ?? "-"
    }

    static func total(_ view: InstanceView, _ phase: Phase) -> String {
        guard let durations = view.phaseDurationsMilliseconds else { return "-" }
        return duration(milliseconds: durations[phase.rawValue] ?? 0)
    }

    /// One row per phase with whole milliseconds and a human duration, for `inspect`.
    static func phaseTable(_ view: InstanceView) -> String {
        guard let durations = view.phaseDurationsMilliseconds else { return "  (no transitions recorded)\n" }
        var rows = [["PHASE", "MILLISECONDS", "DURATION"]]
        for phase in Phase.allCases {
            guard let milliseconds = durations[phase.rawValue] else { continue }
            let marker = phase.rawValue == view.currentPhase ? " (current)" : ""
            rows.append([phase.rawValue + marker, String(milliseconds), duration(milliseconds: milliseconds)])
        }
        return table(rows).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
}
