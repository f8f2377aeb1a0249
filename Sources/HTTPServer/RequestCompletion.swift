import CMicroHTTPD

/// libmicrohttpd's request-completed callback; `context` is the unretained `ServerContext`.
///
/// Releases the request's `RequestContext`, cancels its stream producer and logs the request line.
/// libmicrohttpd calls it for every request that reached the access handler, also when the client went
/// away or the daemon stopped.
func completeRequest(
    context: UnsafeMutableRawPointer?, connection: OpaquePointer?,
    requestSlot: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, termination: MHD_RequestTerminationCode
) {
    guard let context, let requestSlot, let requestPointer = requestSlot.pointee else { return }
    let server = Unmanaged<ServerContext>.fromOpaque(context).takeUnretainedValue()
    let request = Unmanaged<RequestContext>.fromOpaque(requestPointer).takeRetainedValue()
    requestSlot.pointee = nil

    request.stream?.cancel(resumeConnection: false)
    server.unregister(request)

    let duration = ContinuousClock.now - request.startTime
    let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    var metadata = [
        "http.method": request.method,
        "http.path": request.path,
        "http.status": request.status.map(String.init) ?? "none",
        "http.duration_ms": String(milliseconds),
    ]
    if let reason = terminationReason(termination) {
        metadata["http.termination"] = reason
    }
    server.log("request finished", metadata)
}

/// Names an abnormal end of a request, or returns nil for a normal one.
private func terminationReason(_ code: MHD_RequestTerminationCode) -> String? {
    switch code {
    case .REQUEST_TERMINATED_COMPLETED_OK: nil
    case .REQUEST_TERMINATED_WITH_ERROR: "error"
    case .REQUEST_TERMINATED_TIMEOUT_REACHED: "timeout"
    case .REQUEST_TERMINATED_DAEMON_SHUTDOWN: "server_shutdown"
    case .REQUEST_TERMINATED_READ_ERROR: "read_error"
    case .REQUEST_TERMINATED_CLIENT_ABORT: "client_abort"
    default: "code_\(code.rawValue)"
    }
}
