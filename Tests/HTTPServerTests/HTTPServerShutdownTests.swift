import Foundation
import HTTPServer
import Testing

@Suite struct HTTPServerShutdownTests {
    @Test func inFlightRequestCompletesDuringShutdown() throws {
        let handlerStarted = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            handlerStarted.signal()
            Thread.sleep(forTimeInterval: 0.5)
            return textResponse("finished")
        }
        let port = server.boundPort

        let result = SharedValue<RawHTTPConnection.Response?>(nil)
        let requestDone = runOnThread {
            result.value = try? RawHTTPConnection.request(port: port, target: "/work")
        }
        #expect(handlerStarted.wait(timeout: .now() + 5) == .success)

        let start = ContinuousClock.now
        server.shutdown(gracePeriod: .seconds(5))
        let elapsed = ContinuousClock.now - start

        #expect(requestDone.wait(timeout: .now() + 5) == .success)
        #expect(result.value?.status == 200)
        #expect(result.value?.bodyText == "finished")
        #expect(elapsed < .seconds(4), "shutdown waited \(elapsed) although the request ended after 0.5 s")
        #expect(server.boundPort == 0)
        #expect(throws: RawHTTPConnection.Failure.self) { try RawHTTPConnection(port: port) }
    }

    @Test func newConnectionsAreRefusedDuringGracePeriod() throws {
        let handlerStarted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            handlerStarted.signal()
            _ = release.wait(timeout: .now() + 10)
            return textResponse("finished")
        }
        let port = server.boundPort

        let requestDone = runOnThread { _ = try? RawHTTPConnection.request(port: port, target: "/work") }
        #expect(handlerStarted.wait(timeout: .now() + 5) == .success)
        let shutdownDone = runOnThread { server.shutdown(gracePeriod: .seconds(10)) }
        Thread.sleep(forTimeInterval: 0.3)

        let refused: Bool
        do {
            let connection = try RawHTTPConnection(port: port, receiveTimeout: 2)
            connection.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            refused = connection.receiveAll().isEmpty
        } catch {
            refused = true
        }
        #expect(refused, "a new connection was served during shutdown")

        release.signal()
        #expect(requestDone.wait(timeout: .now() + 5) == .success)
        #expect(shutdownDone.wait(timeout: .now() + 5) == .success)
    }

    @Test func keepAliveRequestDuringShutdownGets503() throws {
        let handlerStarted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = try startServer { request in
            if request.path == "/slow" {
                handlerStarted.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            return textResponse("ok")
        }
        let port = server.boundPort

        let idle = try RawHTTPConnection(port: port)
        idle.send("GET /first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(try idle.readResponse().status == 200)

        let slowDone = runOnThread { _ = try? RawHTTPConnection.request(port: port, target: "/slow") }
        #expect(handlerStarted.wait(timeout: .now() + 5) == .success)
        let shutdownDone = runOnThread { server.shutdown(gracePeriod: .seconds(10)) }
        Thread.sleep(forTimeInterval: 0.3)

        idle.send("GET /second HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let response = try idle.readResponse()
        #expect(response.status == 503)
        #expect(response.headers["connection"]?.lowercased() == "close")

        release.signal()
        #expect(slowDone.wait(timeout: .now() + 5) == .success)
        #expect(shutdownDone.wait(timeout: .now() + 5) == .success)
    }

    @Test func handlerPastGracePeriodGets503() throws {
        let handlerStarted = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            handlerStarted.signal()
            _ = release.wait(timeout: .now() + 10)
            return textResponse("too late")
        }
        defer { release.signal() }
        let port = server.boundPort

        let result = SharedValue<RawHTTPConnection.Response?>(nil)
        let requestDone = runOnThread {
            result.value = try? RawHTTPConnection.request(port: port, target: "/stuck")
        }
        #expect(handlerStarted.wait(timeout: .now() + 5) == .success)

        let start = ContinuousClock.now
        server.shutdown(gracePeriod: .milliseconds(300))
        let elapsed = ContinuousClock.now - start

        #expect(elapsed < .seconds(3), "shutdown took \(elapsed) with a 300 ms grace period")
        #expect(requestDone.wait(timeout: .now() + 5) == .success)
        let response = try #require(result.value)
        #expect(response.status == 503)
        #expect(response.bodyText.contains("\"code\":\"service_unavailable\""))
    }

    @Test func streamIsCancelledAtShutdown() throws {
        let writeFailed = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            HTTPResponse(
                status: 200,
                body: .stream { writer in
                    writer.write("start\n")
                    while writer.write("") {
                        Thread.sleep(forTimeInterval: 0.05)
                    }
                    writeFailed.signal()
                })
        }

        let connection = try RawHTTPConnection(port: server.boundPort)
        connection.send("GET /follow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(connection.receive(until: "start"))

        server.shutdown(gracePeriod: .milliseconds(200))
        #expect(writeFailed.wait(timeout: .now() + 5) == .success)
    }

    @Test func shutdownTwiceAndBeforeStartIsHarmless() throws {
        let unstarted = HTTPServer(host: "127.0.0.1", port: 0) { _ in textResponse("ok") }
        unstarted.shutdown(gracePeriod: .zero)
        #expect(unstarted.boundPort == 0)

        let server = try startServer { _ in textResponse("ok") }
        server.shutdown(gracePeriod: .zero)
        server.shutdown(gracePeriod: .zero)
        #expect(server.boundPort == 0)
    }
}
