import Foundation

/// The output of a host tool that exited with status 0.
struct HostToolOutput {
    let standardOutput: Data
    let standardError: Data
}

/// Runs host tools (apt-get, dpkg-deb, xz, ...) to completion with an argument array and no shell.
///
/// Each tool starts from a new `Thread` rather than the caller's thread, because `Foundation.Process`
/// launched from a Dispatch queue or a Swift concurrency executor passes a blocked signal mask to the child.
enum HostTool {
    /// Directories searched after `PATH`, because `PATH` of a non-root user often omits the sbin directories.
    static let fallbackSearchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// Returns the absolute path of the executable `name`.
    ///
    /// - Throws: `GuestImageError` with code `.toolNotFound`, naming `debianPackage` as the fix.
    static func locate(_ name: String, debianPackage: String) throws -> String {
        let pathVariable = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = pathVariable.split(separator: ":").map(String.init) + fallbackSearchPath
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        throw GuestImageError(
            .toolNotFound,
            "\(name) was not found in PATH or \(fallbackSearchPath.joined(separator: ":")); install Debian's \(debianPackage) package."
        )
    }

    /// Runs `executable` with `arguments` in `directory` and waits for it to exit.
    ///
    /// The environment is the caller's with `LC_ALL=C`, so the output that callers parse is in English.
    /// - Throws: `GuestImageError` with code `.toolFailed` when the tool cannot start or exits with a
    ///   non-zero status. The message contains the command and the tool's standard error.
    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> HostToolOutput {
        let run = ToolRun(executable: executable, arguments: arguments, directory: directory)
        let thread = Thread { run.execute() }
        thread.name = "stint-host-tool"
        thread.start()
        run.finished.wait()

        let command = ([executable] + arguments).joined(separator: " ")
        let outcome = run.outcome()
        switch outcome {
        case .launchFailed(let description):
            throw GuestImageError(
                .toolFailed, "Could not start `\(command)`: \(description); check that the file is an executable.")
        case .exited(let status, let output, let error):
            guard status == 0 else {
                let errorText = String(decoding: error.suffix(4000), as: UTF8.self).trimmingCharacters(
                    in: .whitespacesAndNewlines)
                throw GuestImageError(
                    .toolFailed,
                    "`\(command)` failed with exit status \(status): \(errorText.isEmpty ? "(no standard error)" : errorText)"
                )
            }
            return HostToolOutput(standardOutput: output, standardError: error)
        }
    }
}

/// The state of one tool run, shared between the caller and the thread that runs the tool.
///
/// `@unchecked Sendable` is safe because `result` is only read and written while `lock` is held, and
/// the caller reads it only after `finished` is signalled.
private final class ToolRun: @unchecked Sendable {
    enum Outcome {
        case launchFailed(String)
        case exited(Int32, Data, Data)
    }

    let executable: String
    let arguments: [String]
    let directory: String?
    let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Outcome = .launchFailed("the tool did not run")

    init(executable: String, arguments: [String], directory: String?) {
        self.executable = executable
        self.arguments = arguments
        self.directory = directory
    }

    func outcome() -> Outcome {
        lock.withLock { result }
    }

    func execute() {
        defer { finished.signal() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory {
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        process.environment = environment
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outputPipe
        process.standardError = errorPipe

        do {
            try process.run()
        } catch {
            lock.withLock { result = .launchFailed("\(error)") }
            return
        }

        // A second thread reads standard error, because a tool that fills one pipe buffer blocks until
        // that pipe is read, and this thread reads only standard output.
        let errorReader = PipeReader(handle: errorPipe.fileHandleForReading)
        errorReader.start()
        let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
        let error = errorReader.waitForData()
        process.waitUntilExit()
        lock.withLock { result = .exited(process.terminationStatus, output, error) }
    }
}

/// Reads a pipe to end of file on a background thread.
///
/// `@unchecked Sendable` is safe because `data` is written once before `done` is signalled and read only after.
private final class PipeReader: @unchecked Sendable {
    private let handle: FileHandle
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(handle: FileHandle) {
        self.handle = handle
    }

    func start() {
        let thread = Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
        thread.name = "stint-host-tool-stderr"
        thread.start()
    }

    func waitForData() -> Data {
        done.wait()
        return data
    }
}
