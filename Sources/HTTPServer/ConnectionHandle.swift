import CMicroHTTPD

/// A libmicrohttpd connection pointer that may cross threads.
///
/// `@unchecked Sendable` is safe because the only call made from other threads is `MHD_resume_connection`,
/// which the libmicrohttpd 0.9.75 header documents as safe at any time for a suspended connection. Callers
/// make it only while the connection is suspended, and libmicrohttpd does not close suspended connections.
struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    func suspend() {
        MHD_suspend_connection(pointer)
    }

    func resume() {
        MHD_resume_connection(pointer)
    }
}
