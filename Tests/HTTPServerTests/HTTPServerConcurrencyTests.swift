import Foundation
import HTTPServer
import Testing

@Suite struct HTTPServerConcurrencyTests {
    @Test func slowHandlerDoesNotBlockOthers() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try startServer { request in
            if request.path == "/slow" {
                // Blocks for up to 10 s; the test releases it after the fast requests have completed.
                _ = release.wait(timeout: .now() + 10)
                return textResponse("slow")
            }
            return textResponse("fast")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let port = server.boundPort

        let slowResult = SharedValue<RawHTTPConnection.Response?>(nil)
        let slowDone = runOnThread {
            slowResult.value = try? RawHTTPConnection.request(port: port, target: "/slow")
        }
        Thread.sleep(forTimeInterval: 0.2)

        let start = ContinuousClock.now
        for _ in 0..<5 {
            let fast = try RawHTTPConnection.request(port: port, target: "/fast")
            #expect(fast.bodyText == "fast")
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(3), "five fast requests took \(elapsed) while a slow handler ran")
        #expect(slowResult.value == nil, "the slow request finished before it was released")

        release.signal()
        #expect(slowDone.wait(timeout: .now() + 10) == .success)
        #expect(slowResult.value?.bodyText == "slow")
    }

    @Test func slowHeaderClientDoesNotBlockOthers() throws {
        let server = try startServer { _ in textResponse("ok") }
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let port = server.boundPort

        let slowClient = try RawHTTPConnection(port: port)
        let header = Array("GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaa\r\n".utf8)
        let stop = SharedValue(false)
        let tricklerDone = runOnThread {
            for byte in header {
                if stop.value { return }
                slowClient.send(Data([byte]))
                Thread.sleep(forTimeInterval: 1)
            }
        }
        Thread.sleep(forTimeInterval: 1.5)

        for _ in 0..<3 {
            let start = ContinuousClock.now
            let response = try RawHTTPConnection.request(port: port, target: "/fast")
            let elapsed = ContinuousClock.now - start
            #expect(response.status == 200)
            #expect(elapsed < .seconds(1), "request took \(elapsed) while a client sent one byte a second")
            Thread.sleep(forTimeInterval: 0.5)
        }
        stop.value = true
        #expect(tricklerDone.wait(timeout: .now() + 5) == .success)
    }

    @Test func idleConnectionTimesOut() throws {
        var configuration = HTTPServer.Configuration()
        configuration.connectionTimeoutSeconds = 1
        let server = try startServer(configuration: configuration) { _ in textResponse("ok") }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let idle = try RawHTTPConnection(port: server.boundPort, receiveTimeout: 10)
        idle.send("GET /partial HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let start = ContinuousClock.now
        let reply = idle.receiveAll()
        let elapsed = ContinuousClock.now - start
        #expect(reply.isEmpty)
        #expect(elapsed < .seconds(5), "idle connection stayed open for \(elapsed)")
    }

    @Test func manyConcurrentRequestsSucceed() throws {
        let server = try startServer { request in
            Thread.sleep(forTimeInterval: 0.05)
            return textResponse(request.path)
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let port = server.boundPort

        let failures = SharedValue(0)
        let threads = (0..<32).map { index in
            runOnThread {
                let response = try? RawHTTPConnection.request(port: port, target: "/n\(index)")
                if response?.bodyText != "/n\(index)" {
                    failures.modify { $0 += 1 }
                }
            }
        }
        for done in threads {
            #expect(done.wait(timeout: .now() + 20) == .success)
        }
        #expect(failures.value == 0)
    }
}
