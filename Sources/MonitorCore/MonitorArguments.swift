/// The command line of `stint-monitor`: everything the monitor needs for one hypervisor launch.
///
/// The full `stint` computes all of it (paths, the QEMU argument vector, the boot marker lines), so the monitor reads
/// no metadata, configuration or JSON. The form is `stint-monitor --name value ... -- QEMU_PATH QEMU_ARGUMENTS...`.
public struct MonitorArguments: Sendable, Equatable {
    /// The data directory, passed on to `stint monitor-record`.
    public var dataDirectory: String
    public var instanceID: String
    /// The launch generation that this monitor records for; observations of an older or newer launch are ignored.
    public var generation: Int
    /// The full `stint` executable, which the monitor runs as `stint monitor-record` for every metadata change.
    public var stintExecutable: String
    /// `logs/serial.log` of the instance: one host-timestamped line per console line.
    public var serialLogPath: String
    /// The size in bytes at which the serial log is renamed to `serial.log.1` and started again.
    public var serialLogLimitBytes: Int
    /// The file whose modification time the monitor sets every second while QEMU runs.
    public var heartbeatPath: String
    /// `logs/vmm.log`, QEMU's standard error.
    public var hypervisorLogPath: String
    /// The memory image that QEMU reads on descriptor 3 (`-incoming fd:3`), or nil for a fresh boot.
    public var incomingImagePath: String?
    /// The console lines that mark the boot, in the order they are checked.
    public var bootMarkers: [BootMarkerLine]
    /// The absolute path of QEMU, which is also its `argv[0]`.
    public var hypervisorExecutable: String
    /// QEMU's arguments after `argv[0]`.
    public var hypervisorArguments: [String]

    public init(
        dataDirectory: String, instanceID: String, generation: Int, stintExecutable: String, serialLogPath: String,
        serialLogLimitBytes: Int, heartbeatPath: String, hypervisorLogPath: String, incomingImagePath: String?,
        bootMarkers: [BootMarkerLine], hypervisorExecutable: String, hypervisorArguments: [String]
    ) {
        self.dataDirectory = dataDirectory
        self.instanceID = instanceID
        self.generation = generation
        self.stintExecutable = stintExecutable
        self.serialLogPath = serialLogPath
        self.serialLogLimitBytes = serialLogLimitBytes
        self.heartbeatPath = heartbeatPath
        self.hypervisorLogPath = hypervisorLogPath
        self.incomingImagePath = incomingImagePath
        self.bootMarkers = bootMarkers
        self.hypervisorExecutable = hypervisorExecutable
        self.hypervisorArguments = hypervisorArguments
    }

    private static let command = "stint-monitor"
    private static let optionNames: Set<String> = [
        "data-dir", "id", "generation", "stint", "serial-log", "serial-log-limit", "heartbeat", "hypervisor-log",
        "incoming", "boot-marker",
    ]

    /// The arguments after `argv[0]`, which `init(parsing:)` reads back.
    public var commandLine: [String] {
        var arguments = [
            "--data-dir", dataDirectory, "--id", instanceID, "--generation", String(generation),
            "--stint", stintExecutable, "--serial-log", serialLogPath, "--serial-log-limit",
            String(serialLogLimitBytes), "--heartbeat", heartbeatPath, "--hypervisor-log", hypervisorLogPath,
        ]
        if let incomingImagePath {
            arguments += ["--incoming", incomingImagePath]
        }
        for marker in bootMarkers {
            arguments += ["--boot-marker", marker.name + "=" + marker.line]
        }
        return arguments + ["--", hypervisorExecutable] + hypervisorArguments
    }

    /// Parses the arguments after `argv[0]`.
    ///
    /// - Throws: `MonitorError` for a missing or unknown option, a value that is not a whole number, a boot marker
    ///   without `=`, a relative executable path, or a missing QEMU command after `--`.
    public init(parsing arguments: [String]) throws(MonitorError) {
        let command = MonitorArguments.command
        let options = try OptionList(arguments, known: MonitorArguments.optionNames, command: command)
        guard options.positionals.isEmpty else {
            throw MonitorError("unexpected argument '\(options.positionals[0])' for \(command); put QEMU after '--'")
        }
        guard let trailing = options.trailing, let executable = trailing.first else {
            throw MonitorError("\(command) needs the QEMU command after '--'; it is started by stint itself")
        }
        dataDirectory = try options.required("data-dir", command: command)
        instanceID = try options.required("id", command: command)
        generation = try options.integer("generation", as: Int.self, command: command)
        stintExecutable = try options.required("stint", command: command)
        serialLogPath = try options.required("serial-log", command: command)
        serialLogLimitBytes = try options.integer("serial-log-limit", as: Int.self, command: command)
        heartbeatPath = try options.required("heartbeat", command: command)
        hypervisorLogPath = try options.required("hypervisor-log", command: command)
        incomingImagePath = options.optional("incoming")
        bootMarkers = try (options.values["boot-marker"] ?? []).map { (text: String) throws(MonitorError) in
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                throw MonitorError("invalid --boot-marker '\(text)' for \(command): expected NAME=LINE")
            }
            return BootMarkerLine(name: String(text[..<equals]), line: String(text[text.index(after: equals)...]))
        }
        hypervisorExecutable = executable
        hypervisorArguments = Array(trailing.dropFirst())

        guard serialLogLimitBytes > 0 else {
            throw MonitorError("invalid --serial-log-limit \(serialLogLimitBytes) for \(command): expected bytes > 0")
        }
        for (option, path) in [("--stint", stintExecutable), ("the QEMU path", hypervisorExecutable)]
        where !path.hasPrefix("/") {
            throw MonitorError("\(option) '\(path)' of \(command) must be an absolute path")
        }
    }
}

/// A console line that marks a point of the guest's boot, with the name that `stint monitor-record` accepts for it.
public struct BootMarkerLine: Sendable, Equatable {
    /// The marker's name, e.g. `agentReady`.
    public var name: String
    /// The exact console line, without the line terminator.
    public var line: String

    public init(name: String, line: String) {
        self.name = name
        self.line = line
    }

    /// Returns the marker among `markers` whose line `consoleLine` is, ignoring trailing `\r` and `\n` characters,
    /// or nil when the line is anything else.
    public static func match(_ consoleLine: String, in markers: [BootMarkerLine]) -> BootMarkerLine? {
        var trimmed = Substring(consoleLine)
        while let last = trimmed.unicodeScalars.last, last == "\r" || last == "\n" {
            trimmed = trimmed.dropLast()
        }
        return markers.first { $0.line == trimmed }
    }
}
