import Foundation
import Instances

/// `stint logs`: the guest's serial console or, with `--hypervisor`, QEMU's own output. Serial lines are stored with
/// the host time at which they were read; `--timestamps` shows it.
enum LogsCommand {
    static func run(_ arguments: ParsedArguments, _ service: any InstanceService) throws {
        let reference = try arguments.onePositional("instance name or id")
        let hypervisor = arguments.flags.contains("hypervisor")
        let stripTimestamps = !hypervisor && !arguments.flags.contains("timestamps")
        let tail = try arguments.integer("tail", default: -1, range: -1...1_000_000, unit: "lines")

        var partial = ""
        try service.logs(
            reference, tail: tail >= 0 ? tail : nil, follow: arguments.flags.contains("follow"), hypervisor: hypervisor
        ) { text in
            partial += text
            while let newline = partial.firstIndex(of: "\n") {
                Commands.write(format(partial[..<newline], stripTimestamps: stripTimestamps))
                partial.removeSubrange(...newline)
            }
        }
        if !partial.isEmpty {
            Commands.write(format(Substring(partial), stripTimestamps: stripTimestamps))
        }
    }

    private static func format(_ line: Substring, stripTimestamps: Bool) -> String {
        guard stripTimestamps, let space = line.firstIndex(of: " ") else { return line + "\n" }
        return line[line.index(after: space)...] + "\n"
    }
}
