import Foundation
import StintTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `stint serve --listen 127.0.0.1:0` running as a child process on a test's data directory, with TCG and the
/// shared guest image cache. `stop()` and `deinit` kill the server by pid; the data directory's own cleanup
/// kills the guests.
final class StintServer {
    /// The token used when a test does not ask for the server to load or create `<data>/api-token`.
    static let defaultToken = "stint-api-test-token-0123456789"

    let directory: TestDataDirectory
    let process: ChildProcess
    let port: UInt16
    let client: APIClient

    /// Starts a server and waits up to 20 seconds for its `listening on` line. With `token` nil, the server
    /// reads or creates `<data>/api-token`, and the client uses what the file then contains.
    init(directory: TestDataDirectory, token: String? = StintServer.defaultToken) throws {
        self.directory = directory
        var arguments = ["serve", "--listen", "127.0.0.1:0"]
        if let token {
            arguments += ["--token", token]
        }
        let logStamp = UInt32.random(in: 0...UInt32.max)
        process = try ChildProcess(
            executable: try TestPaths.stintBinary(), arguments: arguments,
            environment: StintServer.environment(dataDirectory: directory.path),
            outputPath: "\(directory.parent)/serve-\(logStamp).out",
            errorPath: "\(directory.parent)/serve-\(logStamp).err")

        let deadline = ContinuousClock.now + .seconds(20)
        var boundPort: UInt16?
        while boundPort == nil {
            boundPort = StintServer.parsePort(process.output)
            if boundPort != nil { break }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let errors = process.errorOutput
                process.killAndReap()
                throw TestFailure("stint serve did not print its port within 20 seconds; its standard error: \(errors)")
            }
            usleep(20_000)
        }
        port = boundPort ?? 0

        var effectiveToken = token ?? ""
        if token == nil {
            let file = directory.path + "/api-token"
            effectiveToken = ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        client = APIClient(port: port, token: effectiveToken)
    }

    deinit {
        process.killAndReap()
    }

    /// The environment every `stint` process in these tests gets: the data directory, the shared image cache
    /// and TCG, because `/dev/kvm` on the test machines cannot run guests.
    static func environment(dataDirectory: String) -> [String: String] {
        ["STINT_DATA_DIR": dataDirectory, "STINT_IMAGE_DIR": TestPaths.imageDirectory, "STINT_ACCEL": "tcg"]
    }

    /// Sends SIGTERM and returns the exit code, or nil when the server still runs after `timeout`.
    func terminate(timeout: Duration = .seconds(90)) -> Int32? {
        process.send(SIGTERM)
        return process.waitForExit(timeout: timeout)
    }

    private static func parsePort(_ output: String) -> UInt16? {
        guard let range = output.range(of: "listening on http://127.0.0.1:") else { return nil }
        let digits = output[range.upperBound...].prefix { $0.isNumber }
        guard output[range.upperBound...].dropFirst(digits.count).hasPrefix("\n") else { return nil }
        return UInt16(digits)
    }
}

/// Runs the `stint` CLI on a test's data directory and returns its exit code and output.
func runStint(_ arguments: [String], directory: TestDataDirectory) throws -> (code: Int32, output: String) {
    try runTool(
        try TestPaths.stintBinary(), arguments, in: directory,
        environment: StintServer.environment(dataDirectory: directory.path), timeout: .seconds(60))
}
