import Foundation

/// The body of `POST /instances`.
struct CreateInstanceBody: Decodable {
    var name: String?
    var command: [String]
    var memoryMiB: Int?
    var vcpus: Int?
    /// `initializing` or `running`: the phase to wait for before responding; absent to respond once started.
    var waitFor: String?
    var waitTimeoutSeconds: Double?

    static let fields: Set<String> = ["name", "command", "memory_mib", "vcpus", "wait_for", "wait_timeout_seconds"]
    static let integerFields: Set<String> = ["memory_mib", "vcpus"]

    enum CodingKeys: String, CodingKey {
        case name, command
        case memoryMiB = "memory_mib"
        case vcpus
        case waitFor = "wait_for"
        case waitTimeoutSeconds = "wait_timeout_seconds"
    }
}

/// The body of `POST /instances/{id}/fork`.
struct ForkInstanceBody: Decodable {
    var name: String
    /// Must be true to fork a live source, which is paused while its memory is copied.
    var fromRunning: Bool?
    /// `running`, `standby` or `stopped`.
    var targetState: String?

    static let fields: Set<String> = ["name", "from_running", "target_state"]

    enum CodingKeys: String, CodingKey {
        case name
        case fromRunning = "from_running"
        case targetState = "target_state"
    }
}

/// The optional body of `POST /instances/{id}/stop`.
struct StopInstanceBody: Decodable {
    var timeoutSeconds: Double?

    static let fields: Set<String> = ["timeout_seconds"]

    enum CodingKeys: String, CodingKey {
        case timeoutSeconds = "timeout_seconds"
    }
}

/// Decodes request bodies strictly: malformed JSON, a body that is not an object, unknown fields and wrong
/// types get a 400 that names the problem.
enum RequestBodyDecoder {
    static func decode<Body: Decodable>(
        _ type: Body.Type, from data: Data, allowedFields: Set<String>, integerFields: Set<String> = [],
        allowEmpty: Bool = false
    ) throws -> Body? {
        if data.isEmpty || data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) {
            guard allowEmpty else { throw APIError.badRequest("missing JSON body") }
            return nil
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw APIError.badRequest("malformed JSON body: \(describeSyntaxError(error, in: data))")
        }
        guard let fields = object as? [String: Any] else {
            throw APIError.badRequest("the JSON body must be an object")
        }
        if let duplicate = repeatedTopLevelKey(in: data, distinctKeys: fields.count) {
            throw APIError.badRequest(
                "invalid JSON body: field '\(duplicate)' is given more than once; give each field once")
        }
        let unknown = Set(fields.keys).subtracting(allowedFields).sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest(
                "unknown field\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); allowed: \(allowedFields.sorted().joined(separator: ", "))"
            )
        }
        // JSONDecoder reports a fraction or an out-of-range number in an integer field without the field's name.
        for name in integerFields.sorted() {
            guard let number = fields[name] as? NSNumber else { continue }
            let value = number.doubleValue
            guard value.rounded() == value, abs(value) < 0x1p53 else {
                throw APIError.badRequest("invalid JSON body: field '\(name)' must be an integer; got \(number)")
            }
        }
        do {
            return try JSONDecoder().decode(Body.self, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest("invalid JSON body: \(describe(error))")
        }
    }

    /// Returns a key that the top-level object of `data` (already valid JSON) repeats, or nil when its key count
    /// equals `distinctKeys`. Foundation's parser keeps one value of a repeated key without saying so.
    static func repeatedTopLevelKey(in data: Data, distinctKeys: Int) -> String? {
        var keys: [String] = []
        var depth = 0
        var stringStart: Int?
        var escaped = false
        var lastString: Range<Int>?
        let bytes = [UInt8](data)
        for (index, byte) in bytes.enumerated() {
            if let start = stringStart {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    stringStart = nil
                    lastString = start..<(index + 1)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): stringStart = index
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ":"):
                // A string directly before a colon at depth 1 is a key of the top-level object.
                if depth == 1, let range = lastString,
                    let key = try? JSONSerialization.jsonObject(
                        with: Data(bytes[range]), options: .fragmentsAllowed) as? String
                {
                    keys.append(key)
                }
            default: break
            }
            // Only white space may stand between a key and its colon.
            if ![0x20, 0x0a, 0x0d, 0x09].contains(byte) {
                lastString = nil
            }
        }
        guard keys.count > distinctKeys else { return nil }
        var seen: Set<String> = []
        return keys.first { !seen.insert($0).inserted }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = path(context.codingPath)
            return "missing field '\(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue)'"
        case .typeMismatch(let type, let context):
            return "field '\(path(context.codingPath))' must be of type \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' must not be null; expected \(typeName(type))"
        case .dataCorrupted(let context):
            return "\(context.debugDescription) at '\(path(context.codingPath))'"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Int.Type: return "integer"
        case is Double.Type: return "number"
        case is Bool.Type: return "boolean"
        case is [String].Type: return "array of strings"
        default: return "\(type)"
        }
    }

    /// Names the line and column of a JSON syntax error, which Foundation reports only as a byte offset: in the
    /// `NSJSONSerializationErrorIndex` user info key, or (Swift 6.3 on Linux) only in the text
    /// "Invalid value around character N.", where N counts bytes from 0.
    private static func describeSyntaxError(_ error: any Error, in data: Data) -> String {
        let nsError = error as NSError
        let detail = (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
        var offset = nsError.userInfo["NSJSONSerializationErrorIndex"] as? Int
        if offset == nil, let range = detail.range(of: "around character ") {
            offset = Int(detail[range.upperBound...].prefix { $0.isNumber })
        }
        if let index = offset, index <= data.count {
            let prefix = data.prefix(index)
            let line = prefix.filter { $0 == 0x0a }.count + 1
            let column = index - (prefix.lastIndex(of: 0x0a).map { $0 + 1 } ?? 0) + 1
            return "\(detail) at line \(line), column \(column)"
        }
        return detail
    }
}
