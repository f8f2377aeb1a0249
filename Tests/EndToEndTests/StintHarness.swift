import Foundation
import Instances
import PhaseTracking
import StintTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the real `stint` binary against a data directory of its own and cleans up every process it started.
final class StintHarness {
    struct Result {
        var exitCode: Int32
        var output: String
        var errorOutput: String
    }

    /// The guest kernel and initramfs are shared by all tests; building them once takes a while.
    static let imageDirectory = "/tmp/stint-test-images"

    let dataDirectory: String
    let binary: String

    /// Uses `dataDirectory` when given (created if missing), else a new directory under /tmp.
    init(dataDirectory: String? = nil) throws {
        binary = try StintHarness.locateBinary()
        if let dataDirectory {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            self.dataDirectory = dataDirectory
            return
        }
        let template = "/tmp/stint-e2e-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw HarnessError("mkdtemp failed for \(template)") }
        self.dataDirectory = String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        cleanUp()
    }

    static func locateBinary() throws -> String {
        try locateStintBinary()
    }

    /// Runs `stint ARGUMENTS` and waits for it.
    @discardableResult
    func run(_ arguments: [String]) throws -> Result {
        let process = try launch(arguments)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            exitCode: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errorOutput: String(decoding: errorData, as: UTF8.self))
    }

    /// Runs `stint ARGUMENTS` and fails the test unless it exits 0.
    @discardableResult
    func succeed(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(arguments)
        #expect(
            result.exitCode == 0, "stint \(arguments.joined(separator: " ")) failed: \(result.errorOutput)",
            sourceLocation: sourceLocation)
        return result.output
    }

    /// A configured but not started process, for tests that kill the CLI mid-operation.
    func launch(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["STINT_DATA_DIR"] = dataDirectory
        environment["STINT_IMAGE_DIR"] = StintHarness.imageDirectory
        environment["STINT_ACCEL"] = "tcg"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        return process
    }

    func inspect(_ reference: String) throws -> InstanceView {
        let output = try succeed(["inspect", reference, "--output", "json"])
        return try JSONDecoder().decode(InstanceView.self, from: Data(output.utf8))
    }

    func list() throws -> [InstanceView] {
        let output = try succeed(["ps", "--output", "json"])
        return try JSONDecoder().decode([InstanceView].self, from: Data(output.utf8))
    }

    /// The raw metadata of an instance, for facts the CLI does not show (process ids, transition counts).
    func metadata(_ id: String) throws -> [String: Any] {
        let data = try MetadataSlots(directory: "\(dataDirectory)/instances/\(id)").readCurrent().body
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    func hypervisorPID(_ id: String) throws -> pid_t? {
        let processes = try metadata(id)["processes"] as? [String: Any]
        return (processes?["hypervisor_pid"] as? Int).map { pid_t($0) }
    }

    func serialLog(_ id: String) -> String {
        (try? String(contentsOfFile: "\(dataDirectory)/instances/\(id)/logs/serial.log", encoding: .utf8)) ?? ""
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes.
    func waitUntil(timeout: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// Kills every monitor and hypervisor recorded in the data directory, by pid, and removes the directory.
    func cleanUp() {
        let instances = dataDirectory + "/instances"
        for id in (try? FileManager.default.contentsOfDirectory(atPath: instances)) ?? [] {
            guard let metadata = try? metadata(id), let processes = metadata["processes"] as? [String: Any] else {
                continue
            }
            for key in ["hypervisor_pid", "monitor_pid"] {
                if let pid = processes[key] as? Int, pid > 1 {
                    kill(pid_t(pid), SIGKILL)
                }
            }
        }
        usleep(200_000)
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Milliseconds between two RFC 3339 timestamps.
func millisecondsBetween(_ earlier: String, _ later: String) -> Int64? {
    guard let start = parseTimestamp(earlier), let end = parseTimestamp(later) else { return nil }
    return (end - start) / 1_000_000
}

func parseTimestamp(_ text: String) -> Int64? {
    RFC3339.parse(text)
}

/// Nanoseconds since 1970 of the wall clock now.
func wallNanosecondsNow() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}
