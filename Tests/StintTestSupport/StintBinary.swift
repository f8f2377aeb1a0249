import Foundation

/// Returns the `stint` executable: `STINT_BINARY` when set, else the one the build put next to the test bundle
/// (or up to three directories above it). Throws a message that says how to build it.
public func locateStintBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["STINT_BINARY"] { return path }
    let testExecutable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var directory = URL(fileURLWithPath: testExecutable).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = directory.appendingPathComponent("stint").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw SpawnFailure(
        "cannot find the stint binary near the test executable '\(testExecutable)'; "
            + "build with 'swift build --build-tests' or set STINT_BINARY")
}
