import Foundation
import Instances
import MonitorCore
import PhaseTracking

/// The `stint` command line: one function per subcommand.
enum Commands {
    static let usage = """
        Usage: stint [--data-dir DIR | --host URL] [--image-dir DIR] [--accel auto|kvm|tcg] COMMAND [ARGUMENTS]

        Instance commands (INSTANCE is a name or an id):
          run [--name NAME] [--memory MIB] [--vcpus N] [--wait running|initializing|none] [--timeout SECONDS] -- COMMAND...
                                   create an instance and boot it; COMMAND runs in the guest
          ps [--output table|json]  list instances with their phase totals
          inspect INSTANCE [--output table|json]
          start INSTANCE [--wait running|initializing|none] [--timeout SECONDS]
          stop INSTANCE [--timeout SECONDS]   ACPI power-down, forced after SECONDS (default 10)
          pause INSTANCE | resume INSTANCE
          standby INSTANCE          save memory to disk and end the hypervisor
          restore INSTANCE          continue an instance in standby
          fork SOURCE --name NEW [--target running|standby|stopped]
          rm [--force] INSTANCE...  delete; --force ends a live instance first
          logs INSTANCE [--tail N] [--follow] [--timestamps] [--hypervisor]

        Maintenance:
          doctor [--clean] [--move-aside ID]
                                   list broken instances, leftovers and journal damage; --clean removes leftover
                                   directories; --move-aside moves an instance with unreadable metadata to DATA/broken

        Usage ledger (kept after instances are deleted):
          usage --from TIME --to TIME [--instance INSTANCE] [--group-by instance|day] [--output table|json|csv]
                                   milliseconds per phase inside the window; TIME is RFC 3339, e.g. 2026-01-31T00:00:00Z
          transitions INSTANCE [--after SEQUENCE] [--follow] [--output table|json]

        Server:
          serve [--listen ADDRESS:PORT] [--token TOKEN]
                                   the HTTP/JSON API (default 127.0.0.1:8780); the bearer token is TOKEN,
                                   STINT_API_TOKEN, or the one in DATA/api-token (created on first start)

        Options and environment:
          --data-dir DIR    or STINT_DATA_DIR; default /var/lib/stint for root, else ~/.local/share/stint
          --image-dir DIR   or STINT_IMAGE_DIR; guest kernel and initramfs cache, default DATA/system
          --accel MODE      or STINT_ACCEL; auto probes whether KVM really runs guests, else TCG
          --host URL        or STINT_HOST; send instance commands to a 'stint serve' at URL (http://ADDRESS:PORT)
          --token TOKEN     or STINT_API_TOKEN; the server's bearer token, else read from DATA/api-token
          STINT_QEMU        the QEMU executable (default qemu-system-x86_64)

        Exit codes: 0 success, 1 failure, 64 usage error.

        """

    static let commandOptions: [String: (values: Set<String>, flags: Set<String>)] = [
        "run": (["name", "memory", "vcpus", "wait", "timeout"], []),
        "ps": (["output"], []),
        "inspect": (["output"], []),
        "start": (["wait", "timeout"], []),
        "stop": (["timeout"], []),
        "pause": ([], []), "resume": ([], []), "standby": ([], []), "restore": ([], []),
        "fork": (["name", "target"], []),
        "rm": ([], ["force"]),
        "logs": (["tail"], ["follow", "timestamps", "hypervisor"]),
        "serve": (["listen"], []),
        "doctor": (["move-aside"], ["clean"]),
        "usage": (["from", "to", "instance", "group-by", "output"], []),
        "transitions": (["after", "output"], ["follow"]),
    ]

    /// Runs the command line and returns the exit code.
    static func main(_ arguments: [String]) -> Int32 {
        do {
            return try dispatch(Array(arguments.dropFirst()))
        } catch let error as CLIError {
            printError(error.description)
            return error.exitCode
        } catch let error as InstancesError {
            printError(error.message)
            return error.code == .invalidArgument ? 64 : 1
        } catch {
            printError("\(error)")
            return 1
        }
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("stint: error: \(message)\n".utf8))
    }

    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Runs one command and returns its exit code, which is 0 for every command but `monitor-record`.
    private static func dispatch(_ arguments: [String]) throws -> Int32 {
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] {
            write(usage)
            return 0
        }
        // The monitor writes the whole command line of `monitor-record`, data directory included.
        if arguments.first == MonitorRecordRequest.subcommand {
            return try MonitorRecordCommand.run(Array(arguments.dropFirst()))
        }
        // Global options come before the command; their values must not be taken for the command.
        var globalArguments: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            globalArguments.append(arguments[index])
            let name = String(arguments[index].dropFirst(2))
            if GlobalOptions.valueOptions.contains(name), index + 1 < arguments.count {
                globalArguments.append(arguments[index + 1])
                index += 1
            }
            index += 1
        }
        guard index < arguments.count else { throw CLIError.usage("missing command") }
        let command = arguments[index]
        let rest = Array(arguments[(index + 1)...])
        let helpRequested = rest.prefix { $0 != "--" }.contains("--help")
        if command == "help" || helpRequested {
            write(usage)
            return 0
        }
        guard let spec = commandOptions[command] else {
            throw CLIError.usage("unknown command '\(command)'")
        }
        let parsed = try ParsedArguments(
            globalArguments + rest, valueOptions: spec.values.union(GlobalOptions.valueOptions),
            flagOptions: spec.flags,
            shortFlags: command == "rm" ? ["-f": "force"] : (command == "logs" ? ["-f": "follow"] : [:]))
        let global = try GlobalOptions(parsed)
        if command == "doctor" {
            try DoctorCommand.run(parsed, global)
            return 0
        }
        if command == "serve" {
            try ServeCommand.run(parsed, global)
            return 0
        }
        try LifecycleCommands.run(command, parsed, try global.makeService())
        return 0
    }
}
