import Foundation
import HTTPServer
import Testing

@Suite struct HTTPServerLimitTests {
    @Test func declaredOversizedBodyGets413() throws {
        let handlerCalls = SharedValue(0)
        let server = try startServer { _ in
            handlerCalls.modify { $0 += 1 }
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort)
        connection.send(
            "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                + "Content-Length: \(10 * 1024 * 1024)\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 413)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.bodyText.contains("\"code\":\"payload_too_large\""))
        #expect(response.bodyText.contains("10485760 bytes"))
        #expect(handlerCalls.value == 0)
    }

    @Test func declaredOversizedBodyFromURLSessionGets413() throws {
        let server = try startServer { _ in textResponse("ok") }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let body = Data(repeating: 0x61, count: 10 * 1024 * 1024)
        let response = try RawHTTPConnection.request(port: server.boundPort, method: "PUT", target: "/u", body: body)
        #expect(response.status == 413)
    }

    @Test func chunkedOversizedBodyGets413() throws {
        let handlerCalls = SharedValue(0)
        let server = try startServer { _ in
            handlerCalls.modify { $0 += 1 }
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort)
        connection.send("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Data(repeating: 0x62, count: 64 * 1024)
        let chunkHead = Data((String(chunk.count, radix: 16) + "\r\n").utf8)
        for _ in 0..<160 {
            guard connection.send(chunkHead + chunk + Data("\r\n".utf8)) else { break }
        }
        connection.send("0\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 413)
        #expect(response.bodyText.contains("\"code\":\"payload_too_large\""))
        #expect(handlerCalls.value == 0)
    }

    @Test func endlessChunkedBodyClosesConnection() throws {
        let server = try startServer { _ in textResponse("ok") }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort, receiveTimeout: 10)
        connection.send("POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = Data(repeating: 0x63, count: 64 * 1024)
        let chunkFrame = Data((String(chunk.count, radix: 16) + "\r\n").utf8) + chunk + Data("\r\n".utf8)
        var sentBytes = 0
        while sentBytes < 64 * 1024 * 1024 && connection.send(chunkFrame) {
            sentBytes += chunk.count
        }
        #expect(sentBytes < 64 * 1024 * 1024, "the server read \(sentBytes) body bytes without closing")
        #expect(connection.receiveAll().isEmpty)
    }

    @Test func bodyAtLimitIsAccepted() throws {
        var configuration = HTTPServer.Configuration()
        configuration.maximumBodyBytes = 1000
        let server = try startServer(configuration: configuration) { request in
            textResponse("\(request.body.count)")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let atLimit = try RawHTTPConnection.request(
            port: server.boundPort, method: "POST", target: "/", body: Data(count: 1000))
        #expect(atLimit.status == 200)
        #expect(atLimit.bodyText == "1000")

        let overLimit = try RawHTTPConnection.request(
            port: server.boundPort, method: "POST", target: "/", body: Data(count: 1001))
        #expect(overLimit.status == 413)
    }

    @Test func garbageRequestLineDoesNotHang() throws {
        let server = try startServer { _ in textResponse("ok") }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let garbage = try RawHTTPConnection(port: server.boundPort, receiveTimeout: 5)
        garbage.send("\u{1}\u{2}GARBAGE NOT-HTTP\r\n\r\n")
        let reply = String(decoding: garbage.receiveAll(), as: UTF8.self)
        let closedOrRejected = reply.isEmpty || reply.hasPrefix("HTTP/1.1 400") || reply.hasPrefix("HTTP/1.0 400")
        #expect(closedOrRejected, "reply was '\(reply.prefix(200))'")

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/after")
        #expect(response.status == 200)
    }

    @Test func invalidHostIsRejected() throws {
        let server = HTTPServer(host: "localhost", port: 0) { _ in textResponse("ok") }
        #expect(throws: HTTPServerError.self) { try server.start() }
        do {
            try server.start()
        } catch let error as HTTPServerError {
            #expect(error.code == .invalidHost)
            #expect(error.message.contains("localhost"))
        }
    }

    @Test func invalidConfigurationIsRejected() throws {
        var configuration = HTTPServer.Configuration()
        configuration.threadPoolSize = 0
        let server = HTTPServer(host: "127.0.0.1", port: 0, configuration: configuration) { _ in textResponse("ok") }
        do {
            try server.start()
            Issue.record("start() accepted threadPoolSize 0")
        } catch let error as HTTPServerError {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("threadPoolSize"))
        }
    }

    @Test func portInUseFailsToStart() throws {
        let first = try startServer { _ in textResponse("ok") }
        defer { first.shutdown(gracePeriod: .seconds(1)) }

        let second = HTTPServer(host: "127.0.0.1", port: first.boundPort) { _ in textResponse("ok") }
        do {
            try second.start()
            Issue.record("second server bound port \(first.boundPort) as well")
        } catch let error as HTTPServerError {
            #expect(error.code == .startFailed)
        }
    }

    @Test func ipv6LoopbackBinds() throws {
        let server = HTTPServer(host: "::1", port: 0) { _ in textResponse("ok") }
        do {
            try server.start()
        } catch let error as HTTPServerError where error.code == .startFailed {
            // NOTE: hosts without IPv6 on the loopback interface cannot run this test.
            return
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        #expect(server.boundPort != 0)
    }
}
