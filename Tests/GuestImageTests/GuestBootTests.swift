import Foundation
import Testing

@testable import GuestImage

/// Boots real guests under TCG. Serialized because each boot keeps a host core busy for seconds.
@Suite(.serialized) struct GuestBootTests {
    /// Generous limits, because other builds share the host cores. Boots measured 1.6 to 2.0 s from launch
    /// to program-started on 2 shared cores.
    static let bootTimeout: TimeInterval = 90
    static let powerdownTimeout: TimeInterval = 10

    @Test func programRunsAndQEMUExitsZero() throws {
        let image = try SharedImage.prepare()
        let guest = try QEMUGuest(
            image: image, command: ["sh", "-c", "echo guest-output-line; echo to-stderr >&2; exit 3"])
        defer { guest.kill() }

        let exitStatus = guest.waitForExit(timeout: Self.bootTimeout)
        let lines = guest.lines
        let console = lines.joined(separator: "\n")
        #expect(exitStatus == 0, "QEMU exit status \(String(describing: exitStatus)); console:\n\(console)")

        let agentReady = try #require(
            lines.firstIndex(of: BootMarker.agentReady.line), "no agent-ready marker; console:\n\(console)")
        let programStarted = try #require(
            lines.firstIndex(of: BootMarker.programStarted.line), "no program-started marker; console:\n\(console)")
        let output = try #require(lines.firstIndex(of: "guest-output-line"), "no program output; console:\n\(console)")
        let exitLine = try #require(
            lines.firstIndex { ProgramExit.parse($0) != nil }, "no exit status line; console:\n\(console)")
        #expect(agentReady < programStarted)
        #expect(programStarted < output)
        #expect(lines.contains("to-stderr"))
        #expect(output < exitLine)
        #expect(ProgramExit.parse(lines[exitLine]) == ProgramExit(status: 3))
        #expect(!console.contains("stint-init:"), "the init reported a problem; console:\n\(console)")
    }

    @Test func trickyArgumentsArriveIntact() throws {
        let image = try SharedImage.prepare()
        let arguments = trickyArguments + ["line\nbreak", "trailing newline\n"]
        // printf repeats its format for each argument, so each argument appears bracketed.
        let guest = try QEMUGuest(image: image, command: ["printf", "[%s]\\n"] + arguments)
        defer { guest.kill() }

        let exitStatus = guest.waitForExit(timeout: Self.bootTimeout)
        let lines = guest.lines
        let console = lines.joined(separator: "\n")
        #expect(exitStatus == 0, "QEMU exit status \(String(describing: exitStatus)); console:\n\(console)")
        let start = try #require(
            lines.firstIndex(of: BootMarker.programStarted.line), "no program-started marker; console:\n\(console)")
        let end = try #require(
            lines.firstIndex { ProgramExit.parse($0) != nil }, "no exit status line; console:\n\(console)")

        let output = lines[(start + 1)..<end].joined(separator: "\n")
        let expected = arguments.map { "[\($0)]" }.joined(separator: "\n")
        #expect(output == expected)
        #expect(ProgramExit.parse(lines[end]) == ProgramExit(status: 0))
    }

    @Test func missingProgramReportsStatus127() throws {
        let image = try SharedImage.prepare()
        let guest = try QEMUGuest(image: image, command: ["/no/such/program", "arg"])
        defer { guest.kill() }

        let exitStatus = guest.waitForExit(timeout: Self.bootTimeout)
        let lines = guest.lines
        #expect(exitStatus == 0)
        #expect(
            lines.compactMap(ProgramExit.parse) == [ProgramExit(status: 127)],
            "console:\n\(lines.joined(separator: "\n"))")
    }

    @Test func powerdownStopsProgramAndExitsZero() throws {
        let image = try SharedImage.prepare()
        let guest = try QEMUGuest(image: image, command: ["sleep", "600"])
        defer { guest.kill() }

        let started = guest.waitForLine(timeout: Self.bootTimeout) { $0 == BootMarker.programStarted.line }
        let console = { guest.lines.joined(separator: "\n") }
        let startedSeconds = try #require(started, "no program-started marker; console:\n\(console())")
        print("GuestBootTests: launch to program-started took \(String(format: "%.2f", startedSeconds)) s")

        let client = try QMPClient(socketPath: guest.qmpSocketPath, timeout: 10)
        let reply = try client.execute("system_powerdown")
        #expect(reply["return"] != nil, "system_powerdown reply: \(reply)")
        let sentAt = Date()

        let exitStatus = guest.waitForExit(timeout: Self.powerdownTimeout)
        let elapsed = Date().timeIntervalSince(sentAt)
        print("GuestBootTests: system_powerdown to QEMU exit took \(String(format: "%.2f", elapsed)) s")
        #expect(
            exitStatus == 0,
            "QEMU exit status \(String(describing: exitStatus)) after \(elapsed) s; console:\n\(console())")
        // sleep dies from SIGTERM, so the init reports 128 + 15.
        #expect(guest.lines.compactMap(ProgramExit.parse) == [ProgramExit(status: 143)], "console:\n\(console())")
    }

    @Test func powerdownStopsProgramIgnoringSIGTERM() throws {
        let image = try SharedImage.prepare()
        // The ignored disposition passes from sh to sleep through exec.
        let guest = try QEMUGuest(image: image, command: ["sh", "-c", "trap '' TERM; sleep 600"])
        defer { guest.kill() }

        let started = guest.waitForLine(timeout: Self.bootTimeout) { $0 == BootMarker.programStarted.line }
        let console = { guest.lines.joined(separator: "\n") }
        try #require(started != nil, "no program-started marker; console:\n\(console())")

        let client = try QMPClient(socketPath: guest.qmpSocketPath, timeout: 10)
        let reply = try client.execute("system_powerdown")
        #expect(reply["return"] != nil, "system_powerdown reply: \(reply)")
        let sentAt = Date()

        let exitStatus = guest.waitForExit(timeout: Self.powerdownTimeout)
        let elapsed = Date().timeIntervalSince(sentAt)
        #expect(
            exitStatus == 0,
            "QEMU exit status \(String(describing: exitStatus)) after \(elapsed) s; console:\n\(console())")
        // The power button handler waits its grace period of 3 s before it powers off.
        #expect(elapsed >= Double(GuestInit.powerButtonGraceSeconds) - 0.5)
        #expect(guest.lines.compactMap(ProgramExit.parse).isEmpty, "console:\n\(console())")
    }
}
