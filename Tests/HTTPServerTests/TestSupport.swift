import Foundation
import HTTPServer
import Synchronization

/// Starts a server on 127.0.0.1 with a kernel-chosen port.
func startServer(
    configuration: HTTPServer.Configuration = HTTPServer.Configuration(),
    handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
) throws -> HTTPServer {
    let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: configuration, handler: handler)
    try server.start()
    return server
}

/// Builds a plain-text response with `text` as its body.
func textResponse(_ text: String, status: Int = 200) -> HTTPResponse {
    HTTPResponse(status: status, headers: ["Content-Type": "text/plain"], body: .data(Data(text.utf8)))
}

/// Log lines collected from a server's logger.
final class LogRecorder: Sendable {
    private let lines = Mutex<[(String, [String: String])]>([])

    var logger: @Sendable (String, [String: String]) -> Void {
        { message, metadata in self.lines.withLock { $0.append((message, metadata)) } }
    }

    var entries: [(String, [String: String])] {
        lines.withLock { $0 }
    }
}

/// Runs `body` on a new thread and returns a semaphore signalled when it returns.
func runOnThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    Thread {
        body()
        done.signal()
    }.start()
    return done
}

/// A value written by one thread and read by another.
final class SharedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) {
        storage = Mutex(value)
    }

    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }

    /// Changes the value in one locked step, unlike a read followed by a write.
    func modify(_ body: (inout Value) -> Void) {
        storage.withLock { body(&$0) }
    }
}
