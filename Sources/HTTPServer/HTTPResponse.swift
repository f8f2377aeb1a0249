import Foundation

/// A response for the server to send.
public struct HTTPResponse: Sendable {
    /// The content of a response.
    public enum Body: Sendable {
        /// A body of known length, sent with `Content-Length`.
        case data(Data)
        /// A body of known length that libmicrohttpd sends without copying it first.
        case bytes(ResponseBytes)
        /// A body of unknown length, sent with chunked transfer encoding. The server runs the producer on a
        /// thread of its own once the status and headers are queued. The response ends when the producer
        /// returns. `StreamWriter.write` returns false once the client has gone away or the server is
        /// shutting down, and the producer should then return.
        case stream(@Sendable (StreamWriter) -> Void)
    }

    /// The status code, 100 to 599. The server replaces any other value by 500.
    public var status: Int
    /// Header fields to send. libmicrohttpd sets `Content-Length`, `Transfer-Encoding` and `Date` itself and
    /// rejects `Content-Length` here; names or values containing CR or LF are dropped.
    public var headers: [String: String]
    /// The content.
    public var body: Body

    /// Creates a response; the body defaults to empty.
    public init(status: Int, headers: [String: String] = [:], body: Body = .data(Data())) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension HTTPResponse {
    /// Builds a JSON error response `{"code": ..., "message": ...}` for errors the HTTP layer produces itself.
    static func layerError(status: Int, code: String, message: String) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(LayerErrorBody(code: code, message: message))) ?? Data()
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: .data(body))
    }
}

/// The JSON shape of an error that the HTTP layer produces itself.
private struct LayerErrorBody: Encodable {
    let code: String
    let message: String
}
