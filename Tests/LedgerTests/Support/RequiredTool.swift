import Foundation

/// Returns the path of `name` in `PATH`. Throws when the tool is missing, so the test fails instead of skipping.
/// Debian's `prometheus` package provides `prometheus` and `promtool`, and `scripts/setup.sh` installs it.
func requiredTool(_ name: String, package: String) throws -> String {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw TestFailure("\(name) is not in PATH (\(path)); install Debian's '\(package)' package with scripts/setup.sh")
}

/// A test precondition that failed, with a message that names the value and the cause.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
