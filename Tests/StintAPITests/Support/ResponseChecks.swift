import Foundation
import HTTPServer
import Testing

/// The status, headers and body of a response, whether it came from `InstanceAPI.handle` or from a socket.
struct ResponseParts {
    var status: Int
    /// Header fields with lowercased names.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    init(_ response: HTTPResponse) {
        status = response.status
        headers = Dictionary(response.headers.map { ($0.key.lowercased(), $0.value) }) { _, last in last }
        switch response.body {
        case .data(let data): body = data
        case .bytes(let bytes): body = bytes.withBytes { Data($0) }
        case .stream: body = Data("<stream>".utf8)
        }
    }

    init(_ response: WireResponse) {
        status = response.status
        headers = response.headers
        body = response.body
    }

    /// The body as a JSON object, or nil when it is not one.
    var jsonObject: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }
}

/// Checks that a response is an API error: `status`, `Content-Type: application/json`, and a body with exactly
/// the fields `code` (equal to `code`) and `message` (non-empty, containing each of `mentioning`).
func expectError(
    _ parts: ResponseParts, status: Int, code: String, mentioning fragments: [String] = [],
    _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    let label = context.isEmpty ? "" : "\(context): "
    #expect(
        parts.status == status, "\(label)status \(parts.status), body \(parts.text)", sourceLocation: sourceLocation)
    #expect(
        parts.headers["content-type"] == "application/json",
        "\(label)content type \(parts.headers["content-type"] ?? "none")",
        sourceLocation: sourceLocation)
    guard let object = parts.jsonObject else {
        Issue.record("\(label)error body is not a JSON object: \(parts.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(
        Set(object.keys) == ["code", "message"], "\(label)error body fields \(object.keys.sorted())",
        sourceLocation: sourceLocation)
    #expect(object["code"] as? String == code, "\(label)error code in \(parts.text)", sourceLocation: sourceLocation)
    let message = object["message"] as? String ?? ""
    #expect(!message.isEmpty, "\(label)empty error message", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(
            message.contains(fragment), "\(label)message '\(message)' lacks '\(fragment)'",
            sourceLocation: sourceLocation)
    }
}

func expectError(
    _ response: HTTPResponse, status: Int, code: String, mentioning fragments: [String] = [],
    _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    expectError(
        ResponseParts(response), status: status, code: code, mentioning: fragments, context,
        sourceLocation: sourceLocation)
}

func expectError(
    _ response: WireResponse, status: Int, code: String, mentioning fragments: [String] = [],
    _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    expectError(
        ResponseParts(response), status: status, code: code, mentioning: fragments, context,
        sourceLocation: sourceLocation)
}
