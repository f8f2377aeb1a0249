import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The CLI with `--host` against a live `stint serve` prints what it prints on the data directory.
@Suite(.serialized) struct RemoteCommandLineTests {
    /// Starts `stint serve` on a free port of 127.0.0.1 and returns the process and its URL.
    static func startServer(_ stint: StintHarness) throws -> (Process, String) {
        let server = try stint.launch(["serve", "--listen", "127.0.0.1:0"])
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        var text = ""
        let deadline = ContinuousClock.now + .seconds(20)
        while !text.contains("\n"), ContinuousClock.now < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: "http://") else {
            server.terminate()
            throw HarnessError("stint serve printed no address: '\(text)'")
        }
        let url = text[range.lowerBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        return (server, url)
    }

    /// Removes the fields that change between two reads a moment apart: the live durations.
    static func stable(_ view: InstanceView) -> InstanceView {
        var copy = view
        copy.phaseDurationsMilliseconds = copy.phaseDurationsMilliseconds.map { $0.mapValues { _ in 0 } }
        return copy
    }

    @Test func remoteOutputMatchesLocal() throws {
        let stint = try StintHarness()
        let (server, url) = try Self.startServer(stint)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let remote = ["--host", url]

        let id = try stint.succeed(remote + ["run", "--name", "twin", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(InstanceIdentity.isValidID(id))

        for command in [["ps", "--output", "json"], ["inspect", "twin", "--output", "json"]] {
            let local = try stint.succeed(command)
            let viaServer = try stint.succeed(remote + command)
            let decoder = JSONDecoder()
            if command[0] == "ps" {
                let localViews = try decoder.decode([InstanceView].self, from: Data(local.utf8)).map(Self.stable)
                let remoteViews = try decoder.decode([InstanceView].self, from: Data(viaServer.utf8)).map(Self.stable)
                #expect(localViews == remoteViews)
            } else {
                let localView = Self.stable(try decoder.decode(InstanceView.self, from: Data(local.utf8)))
                let remoteView = Self.stable(try decoder.decode(InstanceView.self, from: Data(viaServer.utf8)))
                #expect(localView == remoteView)
                #expect(remoteView.currentPhase == "running")
            }
        }

        #expect(try stint.succeed(remote + ["standby", "twin"]) == "twin Standby\n")
        #expect(try stint.succeed(remote + ["restore", "twin"]) == "twin Running\n")
        #expect(try stint.succeed(remote + ["fork", "twin", "--name", "twin-2"]) == "twin-2 Running\n")
        #expect(try stint.succeed(remote + ["pause", "twin-2"]) == "twin-2 Paused\n")
        #expect(try stint.succeed(remote + ["stop", "twin-2"]) == "twin-2 Stopped\n")
        let logs = try stint.succeed(remote + ["logs", "twin", "--tail", "3"])
        #expect(logs == (try stint.succeed(["logs", "twin", "--tail", "3"])) || logs.contains("count="))

        let remoteFailure = try stint.run(remote + ["restore", "twin"])
        let localFailure = try stint.run(["restore", "twin"])
        #expect(remoteFailure.exitCode == 1)
        #expect(remoteFailure.exitCode == localFailure.exitCode)
        #expect(remoteFailure.errorOutput == localFailure.errorOutput)
        let refused = try stint.run(remote + ["rm", "twin"])
        #expect(refused.exitCode == 1)
        #expect(refused.errorOutput.contains("--force"))
        let badName = try stint.run(remote + ["run", "--name", "No_Good", "--", "true"])
        #expect(badName.exitCode == 64)

        try stint.succeed(remote + ["rm", "--force", "twin", "twin-2"])
        #expect(try stint.list().isEmpty)
    }

    @Test func wrongTokenIsRejected() throws {
        let stint = try StintHarness()
        let (server, url) = try Self.startServer(stint)
        defer {
            kill(server.processIdentifier, SIGTERM)
            server.waitUntilExit()
        }
        let result = try stint.run(["--host", url, "--token", "not-the-right-token-at-all", "ps"])
        #expect(result.exitCode == 1)
        #expect(result.errorOutput.contains("401"))
        let unreachable = try stint.run(["--host", "http://127.0.0.1:1", "ps"])
        #expect(unreachable.exitCode == 1)
        #expect(unreachable.errorOutput.contains("127.0.0.1:1"))
    }
}
