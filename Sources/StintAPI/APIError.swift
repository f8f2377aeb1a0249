import Foundation
import HTTPServer
import Instances

/// An error response of the API: an HTTP status and the JSON body `{"code": ..., "message": ...}`.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String
    /// Extra header fields of the response, such as `Allow` on a 405.
    public var headers: [String: String]

    public init(status: Int, code: String, message: String, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status) \(code): \(message)" }

    static func badRequest(_ message: String) -> APIError {
        APIError(status: 400, code: "invalid_argument", message: message)
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: "not_found", message: message)
    }

    static let unauthorized = APIError(
        status: 401, code: "unauthorized",
        message: "missing or invalid bearer token; send 'Authorization: Bearer TOKEN' with the token in DATA/api-token")

    /// Maps an error from the instance layer to its status: invalid input 400, unknown instance 404, a conflicting
    /// or busy instance 409, anything else 500.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        guard let error = error as? InstancesError else {
            return APIError(status: 500, code: "internal", message: "\(error)")
        }
        switch error.code {
        case .invalidArgument: return APIError(status: 400, code: "invalid_argument", message: error.message)
        case .notFound: return APIError(status: 404, code: "not_found", message: error.message)
        case .conflict: return APIError(status: 409, code: "conflict", message: error.message)
        case .busy: return APIError(status: 409, code: "busy", message: error.message)
        case .corrupt: return APIError(status: 500, code: "corrupt", message: error.message)
        case .failed: return APIError(status: 500, code: "failed", message: error.message)
        }
    }

    var response: HTTPResponse {
        let body = (try? JSONEncoder.api.encode(["code": code, "message": message])) ?? Data()
        let fields = headers.merging(["Content-Type": "application/json"]) { _, json in json }
        return HTTPResponse(status: status, headers: fields, body: .data(body))
    }
}

extension JSONEncoder {
    /// The API's encoder: sorted keys, no escaped slashes.
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
