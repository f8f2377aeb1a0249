import CMicroHTTPD
import Foundation

/// libmicrohttpd's access handler; `context` is the unretained `ServerContext`.
///
/// libmicrohttpd calls it once when the headers are in, once per body chunk, once when the body is complete,
/// and once more after each resume. The per-request slot holds a retained `RequestContext` from the first
/// call until `completeRequest` releases it.
func handleAccess(
    context: UnsafeMutableRawPointer?, connection: OpaquePointer?, url: UnsafePointer<CChar>?,
    method: UnsafePointer<CChar>?, version: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?,
    uploadDataSize: UnsafeMutablePointer<Int>?, requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let context, let connection, let uploadDataSize, let requestSlot else { return .NO }
    let server = Unmanaged<ServerContext>.fromOpaque(context).takeUnretainedValue()

    guard let requestPointer = requestSlot.pointee else {
        let request = RequestContext(
            connection: ConnectionHandle(pointer: connection),
            method: method.map { String(cString: $0) } ?? "",
            path: url.map { String(cString: $0) } ?? "")
        requestSlot.pointee = Unmanaged.passRetained(request).toOpaque()
        server.register(request)
        return acceptHeaders(of: request, server: server)
    }
    let request = Unmanaged<RequestContext>.fromOpaque(requestPointer).takeUnretainedValue()

    if uploadDataSize.pointee > 0 {
        let chunk = UnsafeRawBufferPointer(start: uploadData, count: uploadData == nil ? 0 : uploadDataSize.pointee)
        let limit = server.configuration.maximumBodyBytes
        if case .receiving = request.phase, !request.appendBody(chunk, limit: limit) {
            // A chunked body that passed the limit is read to its end and dropped, because libmicrohttpd
            // 0.9.75 rejects MHD_queue_response while a body is arriving. Past a bound, the connection is
            // closed instead, so a client cannot keep the server reading forever.
            if request.receivedBodyBytes - limit > maximumDiscardedBodyBytes {
                server.log(
                    "request body passed maximumBodyBytes by more than 16 MiB; closing the connection",
                    [
                        "http.method": request.method, "http.path": request.path,
                        "http.received_bytes": String(request.receivedBodyBytes),
                    ])
                return .NO
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    switch request.phase {
    case .receiving:
        return finishReceiving(request, server: server)
    case .responseReady(let response):
        return ResponseQueueing.queue(response, for: request, server: server)
    case .handling, .queued:
        return .YES
    }
}

/// Bytes of an oversized body that are read and dropped before the connection is closed without a 413.
private let maximumDiscardedBodyBytes = 16 * 1024 * 1024

/// Handles the first call: rejects new requests during shutdown and declared bodies over the limit.
private func acceptHeaders(of request: RequestContext, server: ServerContext) -> MHD_Result {
    if server.isShuttingDown {
        return ResponseQueueing.queue(ServerContext.shutdownResponse, for: request, server: server)
    }
    let limit = server.configuration.maximumBodyBytes
    if let declared = declaredContentLength(of: request.connection.pointer), declared > UInt64(limit) {
        return ResponseQueueing.queue(
            payloadTooLargeResponse(limit: limit, size: "\(declared) bytes"), for: request, server: server)
    }
    return .YES
}

/// Handles the call after the last body chunk: runs the handler on this thread when the configuration selects the
/// request, or else suspends the connection and runs the handler on the pool.
private func finishReceiving(_ request: RequestContext, server: ServerContext) -> MHD_Result {
    let limit = server.configuration.maximumBodyBytes
    let received = request.receivedBodyBytes
    if received > limit {
        return ResponseQueueing.queue(
            payloadTooLargeResponse(limit: limit, size: "\(received) bytes"), for: request, server: server)
    }

    let connection = request.connection.pointer
    let headers = ConnectionValues.headers(of: connection)
    let query = ConnectionValues.query(of: connection)
    let remoteAddress = ConnectionValues.remoteAddress(of: connection)
    if let answersInline = server.configuration.answersInline, answersInline(request.method, request.path) {
        guard !server.isShuttingDown else {
            return ResponseQueueing.queue(ServerContext.shutdownResponse, for: request, server: server)
        }
        let httpRequest = HTTPRequest(
            method: request.method, path: request.path, query: query.values, headers: headers,
            body: request.takeBody(), remoteAddress: remoteAddress, repeatedQueryNames: query.repeated)
        return ResponseQueueing.queue(server.handler(httpRequest), for: request, server: server)
    }
    guard let body = server.beginHandling(request) else {
        return ResponseQueueing.queue(ServerContext.shutdownResponse, for: request, server: server)
    }

    let httpRequest = HTTPRequest(
        method: request.method, path: request.path, query: query.values, headers: headers, body: body,
        remoteAddress: remoteAddress, repeatedQueryNames: query.repeated)
    server.pool.submit {
        let response = server.handler(httpRequest)
        request.resolve(with: response)
    }
    return .YES
}

/// Returns the `Content-Length` the client declared, or nil when it sent none.
private func declaredContentLength(of connection: OpaquePointer) -> UInt64? {
    guard let value = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length") else { return nil }
    return UInt64(String(cString: value).trimmingCharacters(in: .whitespaces))
}

private func payloadTooLargeResponse(limit: Int, size: String) -> HTTPResponse {
    HTTPResponse.layerError(
        status: 413, code: "payload_too_large",
        message: "Request body of \(size) exceeds the limit of \(limit) bytes; send at most \(limit) bytes.")
}
