import Foundation
import Testing

@testable import GuestImage

/// Arguments that a shell would split, expand or mangle, shared with the boot tests.
let trickyArguments = [
    "two words",
    "  leading and trailing  ",
    "single ' quote",
    "double \" quote",
    "$HOME",
    "${PATH}",
    "$(echo injected)",
    "`echo injected`",
    "a;b && c | d",
    "back\\slash",
    "comma,separated",
    "star * and ?",
    "-n",
    "",
    "tab\tinside",
    "ünïcødé ✓ 日本語 🚀",
]

@Suite struct GuestCommandLineTests {
    @Test func commandRoundTrips() throws {
        let command = ["/bin/printf", "[%s]\\n"] + trickyArguments + ["line\nbreak", "trailing newline\n"]
        let line = try GuestCommandLine.kernelCommandLine(command: command)

        #expect(GuestCommandLine.command(fromKernelCommandLine: line) == command)
    }

    @Test func lineStartsWithBaseParameters() throws {
        let line = try GuestCommandLine.kernelCommandLine(command: ["true"])

        #expect(line.hasPrefix("console=ttyS0 quiet loglevel=3 panic=-1 "))
        #expect(line.hasSuffix(" stint.cmd=dHJ1ZQ=="))
    }

    @Test func encodedParameterIsOneWord() throws {
        let line = try GuestCommandLine.kernelCommandLine(command: ["sh", "-c", "echo \"a b\"\n"] + trickyArguments)
        let parameter = try #require(line.split(separator: " ").last)

        #expect(parameter.hasPrefix("stint.cmd="))
        #expect(!parameter.contains("\""))
        #expect(!parameter.contains("\n"))
        #expect(line.split(separator: " ").count == GuestCommandLine.baseParameters.count + 1)
    }

    @Test func emptyArgumentsKeepTheirPositions() throws {
        let command = ["prog", "", "x", ""]
        let line = try GuestCommandLine.kernelCommandLine(command: command)

        #expect(line.hasSuffix("stint.cmd=cHJvZw==,,eA==,"))
        #expect(GuestCommandLine.command(fromKernelCommandLine: line) == command)
    }

    @Test func lineAtLimitIsAccepted() throws {
        let baseLength = try GuestCommandLine.kernelCommandLine(command: ["p"]).utf8.count
        // Each added ",BASE64" field of a 3-byte argument costs 5 bytes.
        let fields = (GuestCommandLine.maximumLength - baseLength) / 5
        let command = ["p"] + Array(repeating: "abc", count: fields)
        let line = try GuestCommandLine.kernelCommandLine(command: command)

        #expect(line.utf8.count <= GuestCommandLine.maximumLength)
        #expect(line.utf8.count > GuestCommandLine.maximumLength - 5)
    }

    @Test func overLimitIsRejected() {
        let command = ["sh", "-c", String(repeating: "x", count: 1600)]
        let error = #expect(throws: GuestImageError.self) {
            try GuestCommandLine.kernelCommandLine(command: command)
        }

        let encoded = command.map { Data($0.utf8).base64EncodedString() }.joined(separator: ",")
        let length = (GuestCommandLine.baseParameters + ["stint.cmd=" + encoded]).joined(separator: " ").utf8.count
        #expect(error?.code == .commandLineTooLong)
        #expect(error?.message.contains("is \(length) bytes") == true)
        #expect(error?.message.contains("limit of 2047 bytes") == true)
    }

    @Test func emptyCommandIsRejected() {
        let error = #expect(throws: GuestImageError.self) {
            try GuestCommandLine.kernelCommandLine(command: [])
        }
        #expect(error?.code == .invalidCommand)
    }

    @Test func emptyProgramIsRejected() {
        let error = #expect(throws: GuestImageError.self) {
            try GuestCommandLine.kernelCommandLine(command: ["", "arg"])
        }
        #expect(error?.code == .invalidCommand)
    }

    @Test func nulByteIsRejected() {
        let error = #expect(throws: GuestImageError.self) {
            try GuestCommandLine.kernelCommandLine(command: ["echo", "a\u{0}b"])
        }
        #expect(error?.code == .invalidCommand)
        #expect(error?.message.contains("Argument 1") == true)
    }
}
