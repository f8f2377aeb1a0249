import Foundation
import HTTPServer
import Synchronization
import Testing

/// Handlers selected by `answersInline` run on the polling thread and may return `ResponseBytes`.
@Suite struct HTTPServerInlineTests {
    @Test func inlineRequestsRunOnPollingThread() throws {
        let threadNames = Mutex<[String: String]>([:])
        var configuration = HTTPServer.Configuration()
        configuration.answersInline = { method, path in method == "GET" && path == "/inline" }
        let server = try startServer(configuration: configuration) { request in
            let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "unreadable"
            threadNames.withLock { $0[request.path] = name.trimmingCharacters(in: .whitespacesAndNewlines) }
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        for path in ["/inline", "/pooled"] {
            let response = try RawHTTPConnection.request(port: server.boundPort, target: path)
            #expect(response.status == 200, "path \(path)")
            #expect(response.bodyText == "ok", "path \(path)")
        }
        let inlineThread = try #require(threadNames.withLock { $0["/inline"] })
        let pooledThread = try #require(threadNames.withLock { $0["/pooled"] })
        #expect(pooledThread == "http-handler")
        #expect(inlineThread.hasPrefix("MHD"), "inline handler ran on thread '\(inlineThread)'")
    }

    @Test func responseBytesArriveWhole() throws {
        let content = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var configuration = HTTPServer.Configuration()
        configuration.answersInline = { _, path in path == "/inline" }
        let server = try startServer(configuration: configuration) { _ in
            let bytes = ResponseBytes(capacity: content.count + 10) { buffer in
                content.withUnsafeBytes { buffer.copyMemory(from: $0) }
                return content.count
            }
            return HTTPResponse(status: 200, body: .bytes(bytes))
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        for path in ["/inline", "/pooled"] {
            let response = try RawHTTPConnection.request(port: server.boundPort, target: path)
            #expect(response.status == 200, "path \(path)")
            #expect(response.headers["content-length"] == String(content.count), "path \(path)")
            #expect(Array(response.body) == content, "path \(path)")
        }
    }

    @Test func fillReturnIsClamped() {
        let bytes = ResponseBytes(capacity: 4) { _ in 99 }
        #expect(bytes.count == 4)
        let empty = ResponseBytes(capacity: 4) { _ in -1 }
        #expect(empty.count == 0)
    }
}
