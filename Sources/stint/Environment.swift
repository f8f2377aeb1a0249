import Foundation
import Hypervisor
import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// Settings shared by every command: the data directory, the guest image directory, the accelerator and QEMU.
struct GlobalOptions {
    static let valueOptions: Set<String> = ["data-dir", "image-dir", "accel", "host", "token"]

    var dataDirectory: String
    var imageDirectory: String?
    var acceleration: Acceleration?
    var qemuExecutable: String
    /// The server to send instance commands to, instead of working on the data directory.
    var host: String?
    var token: String?

    /// Reads the flags first, then `STINT_DATA_DIR`, `STINT_IMAGE_DIR`, `STINT_ACCEL` and `STINT_QEMU`.
    init(_ arguments: ParsedArguments) throws {
        let environment = ProcessInfo.processInfo.environment
        if let directory = arguments.options["data-dir"] ?? environment["STINT_DATA_DIR"], !directory.isEmpty {
            dataDirectory = GlobalOptions.absolute(directory)
        } else if getuid() == 0 {
            dataDirectory = "/var/lib/stint"
        } else {
            dataDirectory = FileManager.default.homeDirectoryForCurrentUser.path + "/.local/share/stint"
        }
        imageDirectory = (arguments.options["image-dir"] ?? environment["STINT_IMAGE_DIR"]).map(GlobalOptions.absolute)
        let accel = arguments.options["accel"] ?? environment["STINT_ACCEL"] ?? "auto"
        switch accel {
        case "auto": acceleration = nil
        case "kvm": acceleration = .kvm
        case "tcg": acceleration = .tcg
        default: throw CLIError.usage("invalid accelerator '\(accel)': use auto, kvm or tcg")
        }
        qemuExecutable = environment["STINT_QEMU"] ?? QEMUCommandLine.defaultExecutable
        host = arguments.options["host"] ?? environment["STINT_HOST"].flatMap { $0.isEmpty ? nil : $0 }
        token = arguments.options["token"] ?? environment["STINT_API_TOKEN"]
    }

    /// Returns the service the instance commands use: the server at `host` when set, else the data directory.
    func makeService() throws -> any InstanceService {
        guard let host else { return LocalInstanceService(manager: try makeManager()) }
        let fileToken = (try? String(contentsOfFile: dataDirectory + "/api-token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return RemoteInstanceService(client: try HTTPClient(url: host, token: token ?? fileToken))
    }

    func makeManager() throws -> InstanceManager {
        let configuration = ManagerConfiguration(
            dataDirectory: dataDirectory, imageDirectory: imageDirectory, qemuExecutable: qemuExecutable,
            stintExecutable: GlobalOptions.currentExecutable(), acceleration: acceleration)
        return try InstanceManager(configuration: configuration)
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Returns the path of the running `stint` binary, which monitors run as `stint monitor-record` and next to
    /// which `stint-monitor` is expected.
    static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
