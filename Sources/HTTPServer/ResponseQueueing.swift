import CMicroHTTPD
import Foundation

/// Hands `HTTPResponse` values to libmicrohttpd. Runs on libmicrohttpd's threads, inside the access handler.
enum ResponseQueueing {
    /// Queues `response` on the connection of `request` and, for a stream body, starts its producer thread.
    /// Returns `MHD_NO`, which makes libmicrohttpd close the connection, when the response cannot be queued.
    static func queue(_ response: HTTPResponse, for request: RequestContext, server: ServerContext) -> MHD_Result {
        var response = response
        if !(100...599).contains(response.status) {
            server.log(
                "handler returned an invalid status; sending 500",
                ["http.method": request.method, "http.path": request.path, "http.status": String(response.status)])
            response = HTTPResponse.layerError(
                status: 500, code: "internal_error", message: "The handler produced an invalid response.")
        }

        let connection = request.connection
        var stream: StreamChannel?
        let mhdResponse: OpaquePointer?
        switch response.body {
        case .data(let data):
            mhdResponse = data.withUnsafeBytes { bytes in
                MHD_create_response_from_buffer(
                    bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress), .RESPMEM_MUST_COPY)
            }
        case .bytes(let bytes):
            // The retain keeps the content alive until libmicrohttpd calls `releaseResponseBytes`.
            let retained = Unmanaged.passRetained(bytes)
            mhdResponse = bytes.withBytes { content in
                MHD_create_response_from_buffer_with_free_callback_cls(
                    content.count, UnsafeMutableRawPointer(mutating: content.baseAddress), releaseResponseBytes,
                    retained.toOpaque())
            }
            if mhdResponse == nil {
                retained.release()
            }
        case .stream:
            let channel = StreamChannel(connection: connection)
            stream = channel
            mhdResponse = MHD_create_response_from_callback(
                unknownResponseSize, 16 * 1024, readStreamContent, Unmanaged.passRetained(channel).toOpaque(),
                releaseStreamContent)
        }
        guard let mhdResponse else {
            server.log(
                "failed to create a libmicrohttpd response; closing the connection",
                ["http.method": request.method, "http.path": request.path])
            return .NO
        }
        defer { MHD_destroy_response(mhdResponse) }

        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
            if MHD_add_response_header(mhdResponse, name, value) == .NO {
                server.log(
                    "libmicrohttpd rejected a response header; sending the response without it",
                    ["http.path": request.path, "http.header": name])
            }
        }

        guard MHD_queue_response(connection.pointer, UInt32(response.status), mhdResponse) == .YES else {
            server.log(
                "failed to queue a response; closing the connection",
                ["http.method": request.method, "http.path": request.path, "http.status": String(response.status)])
            stream?.cancel(resumeConnection: false)
            return .NO
        }
        server.markQueued(request, status: response.status, stream: stream)

        if case .stream(let producer) = response.body, let stream {
            let thread = Thread {
                producer(StreamWriter(channel: stream))
                stream.finish()
            }
            thread.name = "HTTPServer.stream"
            thread.start()
        }
        return .YES
    }
}

/// `MHD_SIZE_UNKNOWN`, a macro with a cast that Swift does not import.
private let unknownResponseSize = UInt64.max
