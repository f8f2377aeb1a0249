import Foundation
import Instances
import PhaseTracking

/// `stint usage` and `stint transitions`: what the journal records, for billing and auditing.
enum LedgerCommands {
    static func usage(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        guard arguments.positionals.isEmpty else {
            throw CLIError.usage("usage takes no arguments, got '\(arguments.positionals[0])'; use --instance")
        }
        let from = try timestamp(arguments, "from")
        let to = try timestamp(arguments, "to")
        guard to > from else { throw CLIError.usage("invalid window: --to must be later than --from") }
        let grouping: UsageReport.Grouping
        switch arguments.options["group-by"] ?? "instance" {
        case "instance": grouping = .instance
        case "day": grouping = .day
        case let other: throw CLIError.usage("invalid --group-by '\(other)': use instance or day")
        }
        let rows = try service.usage(from: from, to: to, instance: arguments.options["instance"], grouping: grouping)

        switch arguments.options["output"] ?? "table" {
        case "json":
            Commands.write(String(decoding: try InstanceView.encode(rows), as: UTF8.self) + "\n")
        case "csv":
            var lines = ["instance_id,instance_name,phase,from,to,milliseconds,idempotency_key"]
            for row in rows {
                lines.append(
                    [
                        row.instanceID, row.instanceName, row.phase, row.from, row.to, String(row.milliseconds),
                        row.idempotencyKey,
                    ]
                    .map(csvField).joined(separator: ","))
            }
            Commands.write(lines.joined(separator: "\n") + "\n")
        case "table":
            var table = [["NAME", "ID", "PHASE", "FROM", "TO", "MILLISECONDS", "DURATION"]]
            for row in rows {
                table.append([
                    row.instanceName, row.instanceID, row.phase, row.from, row.to, String(row.milliseconds),
                    Formatting.duration(milliseconds: row.milliseconds),
                ])
            }
            Commands.write(Formatting.table(table))
        case let other:
            throw CLIError.usage("invalid --output '\(other)': use table, json or csv")
        }
    }

    static func transitions(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        let reference = try arguments.onePositional("instance name or id")
        var after = try arguments.integer("after", default: 0, range: 0...Int(Int32.max), unit: "transitions")
        let follow = arguments.flags.contains("follow")
        let json = (arguments.options["output"] ?? "table") == "json"
        guard ["table", "json"].contains(arguments.options["output"] ?? "table") else {
            throw CLIError.usage("invalid --output '\(arguments.options["output"] ?? "")': use table or json")
        }
        if !json {
            Commands.write(Formatting.table([["SEQ", "AT", "FROM", "TO", "PREVIOUS", "SOURCE"]]))
        }
        repeat {
            let entries = try service.transitions(
                of: reference, afterSequence: after, wait: follow ? .seconds(30) : .zero)
            for entry in entries {
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    Commands.write(String(decoding: try encoder.encode(entry), as: UTF8.self) + "\n")
                } else {
                    let previous = Formatting.duration(milliseconds: entry.previousPhaseNanoseconds / 1_000_000)
                    let source = entry.source.rawValue + (entry.estimated ? " (estimated)" : "")
                    Commands.write(
                        "\(entry.sequence)  \(entry.at)  \(entry.from ?? "-")  \(entry.to)  \(previous)  \(source)\n")
                }
                after = entry.sequence
            }
        } while follow
    }

    private static func timestamp(_ arguments: ParsedArguments, _ name: String) throws -> Int64 {
        guard let text = arguments.options[name] else {
            throw CLIError.usage("missing --\(name): give an RFC 3339 time such as 2026-01-31T00:00:00Z")
        }
        guard let value = RFC3339.parse(text) else {
            throw CLIError.usage("invalid --\(name) '\(text)': give an RFC 3339 time such as 2026-01-31T00:00:00Z")
        }
        return value
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
