import Foundation
import Instances
import StintTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary directory with a Stint data directory (`data/`) and room for logs and other programs' files
/// (`scratch/`), plus the real `stint` binary to run against it.
///
/// Cleaning up kills, by pid, every monitor and hypervisor recorded in the instances' metadata, then removes the
/// directory. The guest kernel and initramfs come from the cache shared by all end-to-end tests.
final class LedgerWorkspace {
    struct CommandResult {
        var termination: Termination?
        var output: String
        var errorOutput: String
    }

    static let imageDirectory = "/tmp/stint-test-images"

    let root: String
    let dataDirectory: String
    let scratchDirectory: String
    let binary: String
    private var commandCount = 0

    init() throws {
        var template = Array("/tmp/stint-ledger-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw TestFailure("mkdtemp failed for /tmp/stint-ledger-XXXXXX: \(String(cString: strerror(errno)))")
        }
        root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        dataDirectory = root + "/data"
        scratchDirectory = root + "/scratch"
        for directory in [dataDirectory, scratchDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        binary = try Self.locateBinary()
    }

    deinit {
        cleanUp()
    }

    /// Kills the guests and removes the directory. Tests call it in a `defer`, so the workspace outlives every
    /// process that uses it. Calling it again does nothing.
    func cleanUp() {
        guard FileManager.default.fileExists(atPath: root) else { return }
        killGuests()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Returns the `stint` executable that the tests run.
    static func locateBinary() throws -> String {
        try locateStintBinary()
    }

    /// Returns the environment of every `stint` process: this data directory, the shared image cache and TCG.
    func environment(adding extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["STINT_DATA_DIR"] = dataDirectory
        environment["STINT_IMAGE_DIR"] = Self.imageDirectory
        environment["STINT_ACCEL"] = "tcg"
        environment.removeValue(forKey: "STINT_HOST")
        environment.removeValue(forKey: "STINT_API_TOKEN")
        environment.removeValue(forKey: "STINT_FAULT_POINT")
        return environment.merging(extra) { _, new in new }
    }

    /// Starts `stint ARGUMENTS` with its output in files under `scratch/`.
    func spawn(_ arguments: [String], environment extra: [String: String] = [:], label: String) throws -> ChildProcess {
        commandCount += 1
        let base = "\(scratchDirectory)/\(commandCount)-\(label)"
        return try ChildProcess(
            executable: binary, arguments: arguments, environment: environment(adding: extra),
            inheritEnvironment: false,
            outputPath: base + ".out", errorPath: base + ".err", appendOutput: false)
    }

    /// Runs `stint ARGUMENTS` and waits up to three minutes for it.
    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> CommandResult {
        let child = try spawn(arguments, environment: extra, label: arguments.first ?? "stint")
        let termination = child.wait(timeout: .seconds(180))
        return CommandResult(termination: termination, output: child.output, errorOutput: child.errorOutput)
    }

    /// Runs `stint ARGUMENTS` and returns its standard output. Throws unless it exits 0.
    @discardableResult
    func succeed(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        guard result.termination == .exited(0) else {
            throw TestFailure(
                "stint \(arguments.joined(separator: " ")) \(result.termination?.description ?? "timed out"): \(result.errorOutput)"
            )
        }
        return result.output
    }

    /// Reads the current raw metadata of an instance.
    func metadata(_ id: String) throws -> [String: Any] {
        let data = try MetadataSlots(directory: "\(dataDirectory)/instances/\(id)").readCurrent().body
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestFailure("the metadata of \(id) is not a JSON object")
        }
        return object
    }

    /// Reads every journal entry of one instance straight from `usage.db`, without copying any outbox first.
    func journalEntries(_ id: String) throws -> [JournalEntry] {
        try Journal(dataDirectory: dataDirectory).allTransitions(instanceID: id)
    }

    /// Kills every monitor and hypervisor that the instances' metadata names, by pid, when that process still
    /// refers to this data directory (so a reused pid of an unrelated process is left alone).
    func killGuests() {
        let instances = dataDirectory + "/instances"
        for id in (try? FileManager.default.contentsOfDirectory(atPath: instances)) ?? [] {
            guard let metadata = try? metadata(id), let processes = metadata["processes"] as? [String: Any] else {
                continue
            }
            for key in ["hypervisor_pid", "monitor_pid"] {
                if let pid = processes[key] as? Int, pid > 1, belongsHere(pid_t(pid)) {
                    kill(pid_t(pid), SIGKILL)
                }
            }
        }
        usleep(200_000)
    }

    private func belongsHere(_ pid: pid_t) -> Bool {
        for file in ["cmdline", "environ"] {
            if let data = FileManager.default.contents(atPath: "/proc/\(pid)/\(file)"),
                data.range(of: Data(dataDirectory.utf8)) != nil
            {
                return true
            }
        }
        return false
    }
}
