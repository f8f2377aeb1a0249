import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Creates a new, empty directory `/tmp/PREFIX-XXXXXX` with `mkdtemp` and returns its path. The caller removes it.
///
/// - Throws: `TemporaryDirectoryError` when `mkdtemp` fails, with the reason from `errno`.
public func makeTemporaryDirectory(prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else {
        throw TemporaryDirectoryError(
            description: "mkdtemp failed for /tmp/\(prefix)-XXXXXX: \(String(cString: strerror(errno)))")
    }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A directory made by `makeTemporaryDirectory(prefix:)` that is removed, with everything in it, when the last
/// reference goes, so a test suite that keeps one as a property leaves nothing under /tmp.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String) throws {
        path = try makeTemporaryDirectory(prefix: prefix)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// The failure of `makeTemporaryDirectory(prefix:)`.
public struct TemporaryDirectoryError: Error, CustomStringConvertible {
    public let description: String
}
