import Foundation
import Glibc

/// A directory under /tmp that is removed with its content when the value is released.
///
/// The path is short on purpose, because QMP socket paths inside it must stay within 107 bytes.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/stint-hv-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw TestFailure("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func file(_ name: String) -> String {
        "\(path)/\(name)"
    }
}

/// An error thrown by test helpers, with a message that describes the failure.
struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
