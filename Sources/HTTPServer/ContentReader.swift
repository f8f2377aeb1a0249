import CMicroHTTPD

/// libmicrohttpd's content reader for streaming bodies; `context` is a retained `StreamChannel`.
func readStreamContent(
    context: UnsafeMutableRawPointer?, position: UInt64, buffer: UnsafeMutablePointer<CChar>?, capacity: Int
) -> Int {
    guard let context, let buffer else { return ContentReaderResult.endWithError }
    let channel = Unmanaged<StreamChannel>.fromOpaque(context).takeUnretainedValue()
    return channel.read(into: buffer, capacity: capacity)
}

/// Releases the `StreamChannel` that `readStreamContent` reads from, when libmicrohttpd frees the response.
func releaseStreamContent(context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<StreamChannel>.fromOpaque(context).release()
}

/// Releases the `ResponseBytes` a response was created from, when libmicrohttpd frees the response.
func releaseResponseBytes(context: UnsafeMutableRawPointer?) {
    guard let context else { return }
    Unmanaged<ResponseBytes>.fromOpaque(context).release()
}
