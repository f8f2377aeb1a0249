import Foundation
import StintTestSupport

/// Locations the API tests need: the package root, the `stint` binary and the Python tools.
enum TestPaths {
    /// The package root: the directory that contains `Tests/StintAPITests/Support/TestPaths.swift`.
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path

    /// The guest kernel and initramfs cache that every test that boots a guest shares with the end-to-end tests.
    static let imageDirectory = "/tmp/stint-test-images"

    /// Returns the `stint` executable that the tests run.
    static func stintBinary() throws -> String {
        try locateStintBinary()
    }

    /// A tool from the virtual environment that `scripts/setup.sh` makes in `.build/python-tools`.
    static func pythonTool(_ name: String) throws -> String {
        let path = packageRoot + "/.build/python-tools/bin/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestFailure("missing Python tool '\(path)'; run scripts/setup.sh to install it")
        }
        return path
    }
}

/// A failure in a test's own setup or protocol handling, with a message that names what to check.
struct TestFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
