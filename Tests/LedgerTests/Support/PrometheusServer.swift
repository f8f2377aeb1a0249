import Foundation
import StintTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A real Prometheus on 127.0.0.1 with its own port, configuration and storage under the workspace's `scratch/`,
/// scraping one `stint serve` every second with the server's token file.
final class PrometheusServer {
    let process: ChildProcess
    let client: LoopbackHTTPClient

    /// Starts Prometheus and waits up to 60 seconds for `/-/ready`. Throws when `prometheus` is not installed.
    init(scraping target: UInt16, tokenFile: String, workspace: LedgerWorkspace) throws {
        let executable = try requiredTool("prometheus", package: "prometheus")
        let directory = workspace.scratchDirectory + "/prometheus"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let configuration = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: stint
                metrics_path: /metrics
                authorization:
                  credentials_file: \(tokenFile)
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]

            """
        try Data(configuration.utf8).write(to: URL(fileURLWithPath: directory + "/prometheus.yml"))

        let port = try freeLoopbackPort()
        process = try ChildProcess(
            executable: executable,
            arguments: [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            environment: ProcessInfo.processInfo.environment, outputPath: directory + "/prometheus.out",
            errorPath: directory + "/prometheus.err")
        client = LoopbackHTTPClient(port: port, token: nil)

        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if process.wait(timeout: .zero) != nil {
                throw TestFailure("prometheus \(process.termination?.description ?? "ended"): \(process.errorOutput)")
            }
            if let ready = try? client.send("GET", "/-/ready", timeout: .seconds(5)), ready.status == 200 {
                return
            }
            usleep(200_000)
        }
        throw TestFailure("prometheus on 127.0.0.1:\(port) was not ready within 60 s: \(process.errorOutput)")
    }

    deinit {
        stop()
    }

    /// Sends SIGTERM, and SIGKILL when Prometheus has not exited 20 seconds later.
    func stop() {
        process.send(SIGTERM)
        if process.wait(timeout: .seconds(20)) == nil {
            process.send(SIGKILL)
            process.wait(timeout: .seconds(10))
        }
    }

    /// Runs an instant query and returns the `data.result` array of the JSON response.
    func query(_ expression: String) throws -> [[String: Any]] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? expression
        let reply = try client.send("GET", "/api/v1/query?query=\(encoded)", timeout: .seconds(30))
        guard reply.status == 200,
            let object = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any],
            let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
        else {
            throw TestFailure("query '\(expression)' returned \(reply.status): \(reply.text)")
        }
        return result
    }

    /// Returns the health and last error of each scrape target, for failure messages.
    func targetHealth() -> String {
        guard let reply = try? client.send("GET", "/api/v1/targets", timeout: .seconds(10)) else {
            return "targets unavailable"
        }
        return reply.text
    }
}
