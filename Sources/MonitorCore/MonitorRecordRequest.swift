import PhaseTracking

/// One observation of the monitor, as the command line of `stint monitor-record`, the hidden subcommand of the full
/// `stint` that writes it to the instance's metadata under the instance lock.
///
/// The form is `stint monitor-record KIND --data-dir DIR --id ID --generation N --hypervisor-pid PID ...`, where
/// KIND is `launch`, `boot-marker` (with `--marker NAME` and the instant) or `exit` (with `--wait-status STATUS`
/// and the instant). The instant is `--wall-ns`, `--boot-ns` and `--boot-id`, read when the monitor observed the
/// event, so the time the recorder waits for the lock never shifts it.
public struct MonitorRecordRequest: Sendable, Equatable {
    /// An observation of the monitor.
    public enum Event: Sendable, Equatable {
        /// QEMU was launched: kill it unless the instance records this launch once the launching operation is done.
        case launch
        /// The guest printed the boot marker with this name.
        case bootMarker(name: String, at: HostInstant)
        /// QEMU exited with this `waitpid` status.
        case exit(waitStatus: Int32, at: HostInstant)
    }

    /// The exit code of `stint monitor-record boot-marker` when the marker changed nothing, because it was recorded
    /// before or because the instance no longer runs this launch. The code is 0 when the marker was saved.
    public static let unchangedExitCode: Int32 = 3

    /// The subcommand of `stint` that applies a request.
    public static let subcommand = "monitor-record"

    public var dataDirectory: String
    public var instanceID: String
    public var generation: Int
    public var hypervisorPID: Int32
    public var event: Event

    public init(dataDirectory: String, instanceID: String, generation: Int, hypervisorPID: Int32, event: Event) {
        self.dataDirectory = dataDirectory
        self.instanceID = instanceID
        self.generation = generation
        self.hypervisorPID = hypervisorPID
        self.event = event
    }

    private static let command = "stint monitor-record"
    private static let optionNames: Set<String> = [
        "data-dir", "id", "generation", "hypervisor-pid", "marker", "wait-status", "wall-ns", "boot-ns", "boot-id",
    ]

    /// The arguments after `argv[0]`, starting with the subcommand, which `init(parsing:)` reads back after it.
    public var commandLine: [String] {
        let kind: String
        var details: [String] = []
        switch event {
        case .launch:
            kind = "launch"
        case .bootMarker(let name, let instant):
            kind = "boot-marker"
            details = ["--marker", name] + MonitorRecordRequest.arguments(for: instant)
        case .exit(let waitStatus, let instant):
            kind = "exit"
            details = ["--wait-status", String(waitStatus)] + MonitorRecordRequest.arguments(for: instant)
        }
        return [
            MonitorRecordRequest.subcommand, kind, "--data-dir", dataDirectory, "--id", instanceID, "--generation",
            String(generation), "--hypervisor-pid", String(hypervisorPID),
        ] + details
    }

    /// Parses the arguments after the subcommand name.
    ///
    /// - Throws: `MonitorError` for an unknown kind, a missing or unknown option, or a value that is not a whole
    ///   number.
    public init(parsing arguments: [String]) throws(MonitorError) {
        let command = MonitorRecordRequest.command
        let options = try OptionList(arguments, known: MonitorRecordRequest.optionNames, command: command)
        guard options.positionals.count == 1, options.trailing == nil else {
            throw MonitorError("\(command) needs exactly one kind: launch, boot-marker or exit")
        }
        dataDirectory = try options.required("data-dir", command: command)
        instanceID = try options.required("id", command: command)
        generation = try options.integer("generation", as: Int.self, command: command)
        hypervisorPID = try options.integer("hypervisor-pid", as: Int32.self, command: command)
        guard hypervisorPID > 1 else {
            throw MonitorError(
                "invalid --hypervisor-pid \(hypervisorPID) for \(command); pass the pid of the QEMU process")
        }
        switch options.positionals[0] {
        case "launch":
            event = .launch
        case "boot-marker":
            let name = try options.required("marker", command: command)
            event = .bootMarker(name: name, at: try MonitorRecordRequest.instant(from: options))
        case "exit":
            let waitStatus = try options.integer("wait-status", as: Int32.self, command: command)
            event = .exit(waitStatus: waitStatus, at: try MonitorRecordRequest.instant(from: options))
        default:
            throw MonitorError(
                "unknown kind '\(options.positionals[0])' for \(command): expected launch, boot-marker or exit")
        }
    }

    private static func arguments(for instant: HostInstant) -> [String] {
        [
            "--wall-ns", String(instant.wallNanoseconds), "--boot-ns", String(instant.bootNanoseconds), "--boot-id",
            instant.bootID,
        ]
    }

    private static func instant(from options: OptionList) throws(MonitorError) -> HostInstant {
        HostInstant(
            wallNanoseconds: try options.integer("wall-ns", as: Int64.self, command: command),
            bootNanoseconds: try options.integer("boot-ns", as: Int64.self, command: command),
            bootID: try options.required("boot-id", command: command))
    }
}
