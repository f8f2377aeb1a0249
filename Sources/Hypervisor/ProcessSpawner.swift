import Foundation
import Glibc
import ProcessSupport

/// Launches the hypervisor layer's processes: resolves the executable in `PATH`, then hands the launch to
/// `ProcessLaunch`, which gives the child a clean inheritance.
public enum ProcessSpawner {
    /// Launches `request` with `ProcessLaunch` and returns the child's pid. The caller reaps the child with
    /// `waitpid`. Every parent descriptor not listed in `request.descriptors` is closed in the child.
    ///
    /// - Throws: `HypervisorError` with `.executableNotFound` when the executable is missing or not executable,
    ///   `.invalidArgument` for a negative or closed descriptor in the map, or `.spawnFailed` when `posix_spawn` fails.
    public static func spawn(_ request: SpawnRequest) throws -> pid_t {
        let executablePath = try resolveExecutable(request.executable)
        let environment = request.environment ?? ProcessInfo.processInfo.environment
        do {
            return try ProcessLaunch.spawn(
                path: executablePath, arguments: [request.executable] + request.arguments,
                environment: environment.map { "\($0.key)=\($0.value)" }, descriptors: request.descriptors,
                closingUnlisted: true, newSession: request.newSession)
        } catch {
            switch error {
            case .invalidDescriptor:
                throw HypervisorError(
                    .invalidArgument,
                    "Invalid descriptor map \(request.descriptors) for \(request.executable): numbers must be 0 or more."
                )
            case .descriptorNotOpen(let child, let parent, let code):
                throw HypervisorError(
                    .invalidArgument,
                    "Parent descriptor \(parent) for child descriptor \(child) of \(request.executable) is not open: "
                        + "\(errnoDescription(code)). Pass an open descriptor.")
            case .spawnFailed(let code):
                throw HypervisorError(
                    .spawnFailed,
                    "posix_spawn of \(executablePath) failed: \(errnoDescription(code)). "
                        + "Check that the file is a valid executable for this machine.")
            }
        }
    }

    /// Returns the absolute path for `executable`, searching this process's `PATH` when the name has no slash.
    ///
    /// - Throws: `HypervisorError` with `.executableNotFound` when the file is missing, not executable, or not in
    ///   `PATH`.
    public static func resolveExecutable(_ executable: String) throws -> String {
        if executable.contains("/") {
            guard access(executable, X_OK) == 0 else {
                throw HypervisorError(
                    .executableNotFound,
                    "Executable \(executable) is missing or not executable: \(errnoDescription(errno)). "
                        + "Check the path or its permissions."
                )
            }
            return executable
        }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = "\(directory)/\(executable)"
            var status = stat()
            if stat(candidate, &status) == 0, status.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        throw HypervisorError(
            .executableNotFound,
            "Executable \(executable) was not found in PATH (\(searchPath)). Install it or pass its absolute path."
        )
    }
}
