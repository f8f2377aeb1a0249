import Foundation
import Hypervisor
import Instances

/// `stint monitor`: the hidden subcommand that runs one instance's monitor. Started by Stint itself with its report
/// pipe on descriptor 3; not meant to be run by hand.
enum MonitorCommand {
    static func run(_ arguments: ParsedArguments, _ global: GlobalOptions) throws {
        guard let id = arguments.options["id"], InstanceIdentity.isValidID(id),
            let generationText = arguments.options["generation"], let generation = Int(generationText),
            let machineJSON = arguments.options["machine"]
        else {
            throw CLIError.usage("monitor needs --id, --generation and --machine; it is started by Stint itself")
        }
        let machine: MachineConfig
        do {
            machine = try JSONDecoder().decode(MachineConfig.self, from: Data(machineJSON.utf8))
        } catch {
            throw CLIError.usage("invalid --machine JSON: \(error)")
        }
        let store = try InstanceStore(dataDirectory: global.dataDirectory)
        let monitor = Monitor(
            store: store, id: id, generation: generation, machine: machine,
            qemuExecutable: arguments.options["qemu"] ?? global.qemuExecutable,
            incomingImage: arguments.options["incoming"], log: Logger(label: "stint.monitor"))
        let code = monitor.run(reportDescriptor: 3)
        if code != 0 {
            throw CLIError(exitCode: code, description: "monitor of instance \(id) failed; see its log")
        }
    }
}
