import Foundation
import Instances

/// `stint doctor`: lists what is wrong in the data directory and repairs what can be repaired without losing data.
enum DoctorCommand {
    static func run(_ arguments: ParsedArguments, _ global: GlobalOptions) throws {
        guard global.host == nil else {
            throw CLIError.usage("doctor works on the data directory only; run it on the server's host without --host")
        }
        let manager = try global.makeManager()
        if let id = arguments.options["move-aside"] {
            let destination = try manager.moveAside(id)
            Commands.write("moved \(id) to \(destination)\n")
            return
        }
        if arguments.flags.contains("clean") {
            for path in manager.removeLeftovers() {
                Commands.write("removed \(path)\n")
            }
        }
        let findings = manager.diagnose()
        guard !findings.isEmpty else {
            Commands.write("no problems found in \(global.dataDirectory)\n")
            return
        }
        var rows = [["KIND", "SUBJECT", "DETAIL"]]
        for finding in findings {
            rows.append([finding.kind.rawValue, finding.subject, finding.detail])
        }
        Commands.write(Formatting.table(rows))
        var advice: [String] = []
        if findings.contains(where: { $0.kind == .brokenInstance }) {
            advice.append("'stint doctor --move-aside ID' moves a broken instance aside")
        }
        if findings.contains(where: { $0.kind == .leftoverDirectory }) {
            advice.append("'stint doctor --clean' removes leftovers")
        }
        let summary = "\(findings.count) problem\(findings.count == 1 ? "" : "s") found"
        throw CLIError.failure(
            ([summary] + (advice.isEmpty ? ["see DETAIL for each"] : advice)).joined(separator: "; "))
    }
}
