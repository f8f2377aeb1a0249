import Foundation
import StintTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A `stint serve --listen 127.0.0.1:0` on a workspace's data directory, and a client for it.
final class LedgerServer {
    let process: ChildProcess
    let port: UInt16
    let client: LoopbackHTTPClient

    /// Starts the server and waits up to 30 seconds for the `listening on http://127.0.0.1:PORT` line.
    init(_ workspace: LedgerWorkspace) throws {
        process = try workspace.spawn(["serve", "--listen", "127.0.0.1:0"], label: "serve")
        var found: UInt16?
        let deadline = ContinuousClock.now + .seconds(30)
        while found == nil, ContinuousClock.now < deadline, process.wait(timeout: .zero) == nil {
            if let range = process.output.range(of: "listening on http://127.0.0.1:") {
                let digits = process.output[range.upperBound...].prefix { $0.isNumber }
                found = UInt16(digits)
            }
            usleep(20_000)
        }
        guard let found else {
            throw TestFailure(
                "stint serve printed no address within 30 s (\(process.termination?.description ?? "still running")): \(process.errorOutput)"
            )
        }
        port = found
        let tokenPath = workspace.dataDirectory + "/api-token"
        let token = try String(contentsOfFile: tokenPath, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        client = LoopbackHTTPClient(port: port, token: token)
    }

    deinit {
        process.send(SIGKILL)
        process.wait(timeout: .seconds(10))
    }

    /// Sends SIGTERM and waits up to 70 seconds (the server's grace period is 60) for the exit status.
    @discardableResult
    func stop() -> Termination? {
        process.send(SIGTERM)
        return process.wait(timeout: .seconds(70))
    }
}
