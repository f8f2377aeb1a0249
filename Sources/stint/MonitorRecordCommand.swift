import Instances
import MonitorCore

/// `stint monitor-record`: the hidden subcommand that `stint-monitor` runs to write what it observed to the
/// instance's metadata. Not meant to be run by hand.
enum MonitorRecordCommand {
    /// Applies the request in `arguments` (the words after the subcommand) and returns the exit code: 0, or
    /// `MonitorRecordRequest.unchangedExitCode` for a boot marker that changed nothing.
    static func run(_ arguments: [String]) throws -> Int32 {
        let request: MonitorRecordRequest
        do {
            request = try MonitorRecordRequest(parsing: arguments)
        } catch {
            throw CLIError.usage(error.message)
        }
        let saved = try request.apply(log: Logger(label: "stint.monitor"))
        if case .bootMarker = request.event, !saved {
            return MonitorRecordRequest.unchangedExitCode
        }
        return 0
    }
}
