import CMicroHTTPD
import Glibc

/// Reads what libmicrohttpd parsed from a request: header fields, query parameters and the client address.
enum ConnectionValues {
    /// Header fields with lowercased names; repeated fields are joined with `", "` in the order received.
    static func headers(of connection: OpaquePointer) -> [String: String] {
        var headers: [String: String] = [:]
        for (name, value) in pairs(of: connection, kind: .HEADER_KIND) {
            let key = name.lowercased()
            let text = value ?? ""
            if let existing = headers[key] {
                headers[key] = existing + ", " + text
            } else {
                headers[key] = text
            }
        }
        return headers
    }

    /// Query parameters, percent-decoded with `+` as a space; a name or value with an invalid escape is kept
    /// as sent. The last value of a repeated name wins, and `repeated` lists such names. The raw text is available
    /// because the server installs an unescape callback that leaves it unchanged.
    static func query(of connection: OpaquePointer) -> (values: [String: String], repeated: Set<String>) {
        var query: [String: String] = [:]
        var repeated: Set<String> = []
        for (rawName, rawValue) in pairs(of: connection, kind: .GET_ARGUMENT_KIND) {
            let name = PercentDecoding.decode(rawName, plusAsSpace: true) ?? rawName
            let value = rawValue.map { PercentDecoding.decode($0, plusAsSpace: true) ?? $0 } ?? ""
            if query.updateValue(value, forKey: name) != nil {
                repeated.insert(name)
            }
        }
        return (query, repeated)
    }

    /// Returns the client's IP address as text, or an empty string when libmicrohttpd does not report one.
    static func remoteAddress(of connection: OpaquePointer) -> String {
        guard let address = stint_mhd_client_address(connection) else { return "" }
        return SocketAddress.ipText(of: address)
    }

    /// Name and value pairs of one kind in the order received; the value is nil for a bare query name.
    private static func pairs(of connection: OpaquePointer, kind: MHD_ValueKind) -> [(String, String?)] {
        let collector = PairCollector()
        let iterator: MHD_KeyValueIteratorN = { context, _, key, keySize, value, valueSize in
            guard let context, let key else { return .YES }
            let collector = Unmanaged<PairCollector>.fromOpaque(context).takeUnretainedValue()
            let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keySize), as: UTF8.self)
            let text = value.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: valueSize), as: UTF8.self)
            }
            collector.pairs.append((name, text))
            return .YES
        }
        withExtendedLifetime(collector) {
            _ = MHD_get_connection_values_n(connection, kind, iterator, Unmanaged.passUnretained(collector).toOpaque())
        }
        return collector.pairs
    }
}

/// Collects pairs during one synchronous `MHD_get_connection_values_n` call.
private final class PairCollector {
    var pairs: [(String, String?)] = []
}

/// The unescape callback that leaves the path and query text unchanged, so `HTTPRequest.path` keeps its
/// escapes and `HTTPRequest.pathSegments()` can reject an encoded `/`. Returns the text's length.
func keepEscapedText(
    context: UnsafeMutableRawPointer?, connection: OpaquePointer?, text: UnsafeMutablePointer<CChar>?
) -> Int {
    guard let text else { return 0 }
    return strlen(text)
}
