import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The bearer token that guards every route but `/health`.
public enum APIToken {
    /// Returns `explicit` when given, else the token in `<data>/api-token`, else a new random token written there
    /// with mode 0600. Throws when the file cannot be read or written.
    public static func loadOrCreate(dataDirectory: String, explicit: String?) throws -> String {
        if let explicit {
            guard explicit.count >= 16, !explicit.contains(where: { $0.isWhitespace }) else {
                throw APIError.badRequest("invalid API token: use at least 16 characters without white space")
            }
            return explicit
        }
        let path = dataDirectory + "/api-token"
        if let data = FileManager.default.contents(atPath: path) {
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else {
                throw APIError(
                    status: 500, code: "corrupt",
                    message: "the token file '\(path)' is empty; delete it to make a new one")
            }
            return token
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw APIError(
                status: 500, code: "failed",
                message: "cannot create the token file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array((token + "\n").utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw APIError(
                status: 500, code: "failed",
                message: "cannot write the token file '\(path)': \(String(cString: strerror(errno)))")
        }
        return token
    }

    /// Compares in time that depends only on the lengths, so a client cannot learn the token byte by byte.
    static func matches(_ presented: String, _ expected: String) -> Bool {
        let left = Array(presented.utf8)
        let right = Array(expected.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<right.count {
            difference |= (index < left.count ? left[index] : 0) ^ right[index]
        }
        return difference == 0
    }
}
