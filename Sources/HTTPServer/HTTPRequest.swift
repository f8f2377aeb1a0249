import Foundation

/// A complete HTTP request, with its body already read.
public struct HTTPRequest: Sendable {
    /// The request method as sent, for example `GET`.
    public var method: String
    /// The path as sent, still percent-encoded and without the query. Use ``pathSegments()`` to route.
    public var path: String
    /// Query parameters, percent-decoded with `+` read as a space. A name or value with an invalid escape is
    /// kept as sent, and when a name repeats, the last value wins.
    public var query: [String: String]
    /// Header fields with lowercased names. Repeated fields are joined with `", "` in the order received.
    public var headers: [String: String]
    /// The request body, at most `Configuration.maximumBodyBytes` long.
    public var body: Data
    /// The client's IP address as text (for example `127.0.0.1` or `::1`), or an empty string when unknown.
    public var remoteAddress: String
    /// Query names that appear more than once in the request; `query` keeps the last value of each.
    public var repeatedQueryNames: Set<String>

    /// Creates a request; the server builds these, tests may build their own.
    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: Data = Data(), remoteAddress: String = "", repeatedQueryNames: Set<String> = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.repeatedQueryNames = repeatedQueryNames
    }

    /// Splits ``path`` at `/` and percent-decodes each segment. Empty segments (from `//` or a trailing `/`)
    /// are dropped, so `/instances/` yields `["instances"]`.
    ///
    /// - Throws: ``HTTPServerError`` with code `invalidPath` when the path does not start with `/`, when a
    ///   segment decodes to `.` or `..`, contains an encoded `/` (`%2F`), a NUL byte, an invalid `%` escape
    ///   or bytes that are not UTF-8.
    public func pathSegments() throws -> [String] {
        guard path.hasPrefix("/") else {
            throw HTTPServerError(
                code: .invalidPath, message: "Request path '\(path)' does not start with '/'; send an absolute path.")
        }
        var segments: [String] = []
        for rawSegment in path.split(separator: "/", omittingEmptySubsequences: true) {
            segments.append(try Self.decodeSegment(String(rawSegment), path: path))
        }
        return segments
    }

    private static func decodeSegment(_ rawSegment: String, path: String) throws -> String {
        guard let segment = PercentDecoding.decode(rawSegment, plusAsSpace: false) else {
            throw HTTPServerError(
                code: .invalidPath,
                message: "Path segment '\(rawSegment)' in '\(path)' has an invalid percent escape or is not UTF-8; "
                    + "encode it as UTF-8 with %XX escapes.")
        }
        if segment == "." || segment == ".." {
            throw HTTPServerError(
                code: .invalidPath,
                message: "Path '\(path)' contains the segment '\(segment)'; send the path without dot segments.")
        }
        if segment.contains("/") || segment.contains("\0") {
            throw HTTPServerError(
                code: .invalidPath,
                message: "Path segment '\(rawSegment)' in '\(path)' decodes to a '/' or NUL; "
                    + "such names cannot be addressed.")
        }
        return segment
    }
}
