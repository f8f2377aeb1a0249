import Foundation
import HTTPServer
import Testing

@Suite struct HTTPServerStreamingTests {
    @Test func streamDeliversChunksAsWritten() throws {
        let secondChunkAllowed = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            HTTPResponse(
                status: 200, headers: ["Content-Type": "text/plain"],
                body: .stream { writer in
                    writer.write("first-chunk\n")
                    _ = secondChunkAllowed.wait(timeout: .now() + 10)
                    writer.write("second-chunk\n")
                })
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort)
        connection.send("GET /logs?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(connection.receive(until: "first-chunk"), "first chunk did not arrive before the second was written")
        secondChunkAllowed.signal()
        #expect(connection.receive(until: "second-chunk"))
        let rest = String(decoding: connection.receiveAll(), as: UTF8.self)
        #expect(rest.contains("Transfer-Encoding: chunked"))
        #expect(rest.hasSuffix("0\r\n\r\n"))
    }

    @Test func largeStreamArrivesComplete() throws {
        let piece = Data((0..<4096).map { UInt8($0 % 256) })
        let server = try startServer { _ in
            HTTPResponse(
                status: 200,
                body: .stream { writer in
                    for _ in 0..<512 {
                        guard writer.write(piece) else { return }
                    }
                })
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/big")
        #expect(response.status == 200)
        #expect(response.body.count == 512 * 4096)
        #expect(response.body.prefix(4096) == piece)
    }

    @Test func writeFailsAfterClientDisconnects() throws {
        let writeResult = SharedValue<Bool?>(nil)
        let producerDone = DispatchSemaphore(value: 0)
        let server = try startServer { _ in
            HTTPResponse(
                status: 200,
                body: .stream { writer in
                    defer { producerDone.signal() }
                    writer.write("hello\n")
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline {
                        Thread.sleep(forTimeInterval: 0.05)
                        if !writer.write("tick\n") {
                            writeResult.value = false
                            return
                        }
                    }
                    writeResult.value = true
                })
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        do {
            let connection = try RawHTTPConnection(port: server.boundPort)
            connection.send("GET /follow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(connection.receive(until: "hello"))
        }
        #expect(producerDone.wait(timeout: .now() + 15) == .success)
        #expect(writeResult.value == false)
    }

    @Test func emptyStreamEndsImmediately() throws {
        let server = try startServer { _ in HTTPResponse(status: 200, body: .stream { _ in }) }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/empty")
        #expect(response.status == 200)
        #expect(response.body.isEmpty)
    }
}
