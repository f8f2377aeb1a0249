import PhaseTracking
import Testing

@testable import MonitorCore

/// Tests that the monitor reads back the command line the launcher writes.
@Suite struct MonitorArgumentsTests {
    static func sample(incoming: String? = nil) -> MonitorArguments {
        MonitorArguments(
            dataDirectory: "/data", instanceID: "0123456789abcdef", generation: 7, stintExecutable: "/opt/bin/stint",
            serialLogPath: "/data/instances/0123456789abcdef/logs/serial.log", serialLogLimitBytes: 16_777_216,
            heartbeatPath: "/data/instances/0123456789abcdef/monitor.heartbeat",
            hypervisorLogPath: "/data/instances/0123456789abcdef/logs/vmm.log", incomingImagePath: incoming,
            bootMarkers: [
                BootMarkerLine(name: "agentReady", line: "<<stint:agent-ready>>"),
                BootMarkerLine(name: "odd", line: "a=b c"),
            ],
            hypervisorExecutable: "/usr/bin/qemu-system-x86_64",
            hypervisorArguments: ["-name", "guest", "--", "-append", "console=ttyS0 stint.cmd=--help"])
    }

    @Test func commandLineRoundTrips() throws {
        for arguments in [Self.sample(), Self.sample(incoming: "/data/snapshot/memory")] {
            #expect(try MonitorArguments(parsing: arguments.commandLine) == arguments)
        }
    }

    @Test func hypervisorCommandFollowsSeparator() {
        let commandLine = Self.sample().commandLine
        let separator = commandLine.firstIndex(of: "--")
        #expect(
            separator.map { Array(commandLine[($0 + 1)...]) } == [
                "/usr/bin/qemu-system-x86_64", "-name", "guest",
                "--", "-append", "console=ttyS0 stint.cmd=--help",
            ])
    }

    @Test func missingOptionIsRejected() {
        var commandLine = Self.sample().commandLine
        let index = commandLine.firstIndex(of: "--stint") ?? 0
        commandLine.removeSubrange(index...(index + 1))
        #expect(throws: MonitorError("stint-monitor needs --stint; it is started by stint itself")) {
            try MonitorArguments(parsing: commandLine)
        }
    }

    @Test func missingHypervisorIsRejected() {
        let commandLine = Array(Self.sample().commandLine.prefix { $0 != "--" })
        #expect(throws: MonitorError.self) { try MonitorArguments(parsing: commandLine) }
        #expect(throws: MonitorError.self) { try MonitorArguments(parsing: commandLine + ["--"]) }
    }

    @Test func invalidValuesAreRejected() {
        let cases: [(String, String)] = [
            ("--generation", "seven"), ("--serial-log-limit", "0"), ("--serial-log-limit", "-5"),
            ("--stint", "stint"), ("--boot-marker", "no-equals-sign"), ("--boot-marker", "=line"),
        ]
        for (option, value) in cases {
            var commandLine = Self.sample().commandLine
            if let index = commandLine.firstIndex(of: option) {
                commandLine[index + 1] = value
            }
            #expect(throws: MonitorError.self, "\(option) \(value)") { try MonitorArguments(parsing: commandLine) }
        }
    }

    @Test func unknownOptionIsRejected() {
        let commandLine = ["--colour", "blue"] + Self.sample().commandLine
        #expect(throws: MonitorError("unknown option '--colour' for stint-monitor; it is started by stint itself")) {
            try MonitorArguments(parsing: commandLine)
        }
    }

    @Test func relativeHypervisorIsRejected() {
        var arguments = Self.sample()
        arguments.hypervisorExecutable = "qemu-system-x86_64"
        #expect(throws: MonitorError.self) { try MonitorArguments(parsing: arguments.commandLine) }
    }

    @Test func bootMarkerMatchesWholeLineOnly() {
        let markers = Self.sample().bootMarkers
        #expect(BootMarkerLine.match("<<stint:agent-ready>>", in: markers)?.name == "agentReady")
        #expect(BootMarkerLine.match("<<stint:agent-ready>>\r", in: markers)?.name == "agentReady")
        #expect(BootMarkerLine.match("<<stint:agent-ready>>\r\n", in: markers)?.name == "agentReady")
        #expect(BootMarkerLine.match("echo <<stint:agent-ready>>", in: markers) == nil)
        #expect(BootMarkerLine.match("<<stint:agent-ready>> ", in: markers) == nil)
        #expect(BootMarkerLine.match("", in: markers) == nil)
    }
}
