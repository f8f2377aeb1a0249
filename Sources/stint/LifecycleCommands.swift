import Foundation
import Instances
import PhaseTracking

/// The instance subcommands, run against the data directory.
enum LifecycleCommands {
    static func run(_ command: String, _ arguments: ParsedArguments, _ service: any InstanceService) throws {
        switch command {
        case "run": try runInstance(arguments, service)
        case "ps": try list(arguments, service)
        case "inspect": try inspect(arguments, service)
        case "start":
            let reference = try arguments.onePositional("instance name or id")
            let timeout = try arguments.seconds("timeout", default: 120)
            report(try service.start(reference, waitFor: try waitMode(arguments), timeout: timeout))
        case "stop":
            let timeout = try arguments.seconds("timeout", default: 10)
            report(try service.stop(try arguments.onePositional("instance name or id"), timeout: timeout))
        case "pause", "resume", "standby", "restore":
            guard let operation = SimpleOperation(rawValue: command) else { throw CLIError.usage("unknown command") }
            report(try service.perform(operation, on: try arguments.onePositional("instance name or id")))
        case "fork": try fork(arguments, service)
        case "rm": try remove(arguments, service)
        case "logs": try LogsCommand.run(arguments, service)
        case "usage": try LedgerCommands.usage(arguments, service)
        case "transitions": try LedgerCommands.transitions(arguments, service)
        default: throw CLIError.usage("unknown command '\(command)'")
        }
    }

    /// Prints `NAME STATE` after a state-changing command.
    private static func report(_ view: InstanceView) {
        Commands.write("\(view.name ?? view.id) \(view.state)\n")
    }

    private static func runInstance(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        guard let command = arguments.trailing, !command.isEmpty else {
            throw CLIError.usage("missing guest command: put it after '--', e.g. stint run -- sh -c 'echo hi'")
        }
        guard arguments.positionals.isEmpty else {
            throw CLIError.usage(
                "unexpected argument '\(arguments.positionals[0])': put the guest command after '--'")
        }
        let name = arguments.options["name"] ?? InstanceIdentity.generateName()
        let memory = try parseMemory(arguments.options["memory"] ?? "256")
        let vcpus = try arguments.integer("vcpus", default: 1, range: CreateRequest.vcpuRange, unit: "vCPUs")
        let request = CreateRequest(name: name, command: command, memoryMiB: memory, vcpus: vcpus)
        let waitFor = try waitMode(arguments)
        let timeout = try arguments.seconds("timeout", default: 120)
        try request.validate()

        let created = try service.create(request, waitFor: waitFor, timeout: timeout)
        Commands.write(created.id + "\n")
    }

    private static func waitMode(_ arguments: ParsedArguments) throws -> Phase? {
        switch arguments.options["wait"] ?? "running" {
        case "running": return .running
        case "initializing": return .initializing
        case "none": return nil
        case let other:
            throw CLIError.usage("invalid --wait '\(other)': use running, initializing or none")
        }
    }

    /// Parses `256`, `256M`, `256MiB`, `1G` or `1GiB` into MiB.
    static func parseMemory(_ text: String) throws -> Int {
        let lowered = text.lowercased()
        var digits = lowered
        var factor = 1
        for (suffix, multiplier) in [("gib", 1024), ("gb", 1024), ("g", 1024), ("mib", 1), ("mb", 1), ("m", 1)]
        where lowered.hasSuffix(suffix) {
            digits = String(lowered.dropLast(suffix.count))
            factor = multiplier
            break
        }
        let range = CreateRequest.memoryRangeMiB
        guard let value = Int(digits), value > 0, value <= range.upperBound / factor,
            range.contains(value * factor)
        else {
            throw CLIError.usage(
                "invalid --memory '\(text)': give MiB from \(range.lowerBound) to \(range.upperBound), e.g. 256 or 1G")
        }
        return value * factor
    }

    private static func list(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        guard arguments.positionals.isEmpty else {
            throw CLIError.usage("ps takes no arguments, got '\(arguments.positionals[0])'")
        }
        let views = try service.list()
        switch arguments.options["output"] ?? "table" {
        case "json":
            Commands.write(String(decoding: try InstanceView.encode(views), as: UTF8.self) + "\n")
        case "table":
            var rows = [["NAME", "ID", "STATE", "PHASE", "SINCE", "RUNNING", "STANDBY"]]
            for view in views {
                rows.append([
                    view.name ?? "?", view.id, view.state, view.currentPhase ?? "-", Formatting.since(view),
                    Formatting.total(view, .running), Formatting.total(view, .standby),
                ])
            }
            Commands.write(Formatting.table(rows))
        case let other:
            throw CLIError.usage("invalid --output '\(other)': use table or json")
        }
    }

    private static func inspect(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        let view = try service.inspect(try arguments.onePositional("instance name or id"))
        switch arguments.options["output"] ?? "table" {
        case "json":
            Commands.write(String(decoding: try InstanceView.encode(view), as: UTF8.self) + "\n")
        case "table":
            var lines = [
                "name:         \(view.name ?? "?")", "id:           \(view.id)", "state:        \(view.state)",
            ]
            if let error = view.stateError { lines.append("state error:  \(error)") }
            lines.append("created at:   \(view.createdAt ?? "-")")
            lines.append("started at:   \(view.startedAt ?? "-")")
            lines.append("stopped at:   \(view.stoppedAt ?? "-")")
            lines.append("memory:       \(view.memoryMiB.map { "\($0) MiB" } ?? "-")")
            lines.append("vcpus:        \(view.vcpus.map(String.init) ?? "-")")
            lines.append("command:      \(view.command?.joined(separator: " ") ?? "-")")
            lines.append("snapshot:     \(view.hasSnapshot ? "yes" : "no")")
            if let source = view.forkedFrom { lines.append("forked from:  \(source)") }
            lines.append("phase:        \(view.currentPhase ?? "-") since \(Formatting.since(view))")
            lines.append("phase totals:")
            Commands.write(lines.joined(separator: "\n") + "\n" + Formatting.phaseTable(view))
        case let other:
            throw CLIError.usage("invalid --output '\(other)': use table or json")
        }
    }

    private static func fork(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        let source = try arguments.onePositional("source instance name or id")
        guard let name = arguments.options["name"] else {
            throw CLIError.usage("missing --name for the fork")
        }
        var target: ForkTarget?
        if let text = arguments.options["target"] {
            guard let parsed = ForkTarget(rawValue: text) else {
                throw CLIError.usage("invalid --target '\(text)': use running, standby or stopped")
            }
            target = parsed
        }
        report(try service.fork(source, name: name, target: target))
    }

    private static func remove(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        guard !arguments.positionals.isEmpty else { throw CLIError.usage("missing instance name or id") }
        var failures: [String] = []
        for reference in arguments.positionals {
            do {
                try service.delete(reference, force: arguments.flags.contains("force"))
                Commands.write(reference + "\n")
            } catch {
                Commands.printError("\(error)")
                failures.append(reference)
            }
        }
        if !failures.isEmpty {
            throw CLIError.failure("could not delete \(failures.joined(separator: ", "))")
        }
    }
}
