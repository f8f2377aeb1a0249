import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile bytes on a real socket against `stint serve`. No guest is booted.
@Suite struct MalformedTrafficTests {
    /// A 10 MiB body, sent in full by a writer thread while the response is read, gets 413 with a JSON error.
    @Test func oversizedBodyGets413() throws {
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)
        let size = 10 * 1024 * 1024

        let connection = try WireConnection(port: server.port)
        try connection.send(
            "POST /instances HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(server.client.token)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(size)\r\nConnection: close\r\n\r\n")
        let descriptor = connection.descriptor
        let events = EventLog()
        let writer = Thread {
            defer { events.record("writer finished") }
            let block = [UInt8](repeating: UInt8(ascii: " "), count: 64 * 1024)
            var sent = 0
            while sent < size {
                let written = Glibc.send(descriptor, block, min(block.count, size - sent), Int32(MSG_NOSIGNAL))
                guard written > 0 else { return }
                sent += written
            }
        }
        writer.start()
        let response = try connection.readResponse(timeout: .seconds(30))

        expectError(response, status: 413, code: "payload_too_large")
        #expect(directory.instanceIDs().isEmpty)
        // The writer ends once the server closes the connection. Closing the descriptor before that could hand its
        // number to the next connection while the writer still sends.
        shutdown(descriptor, Int32(SHUT_RD))
        while events.first("writer finished") == nil {
            usleep(10_000)
        }
        connection.close()
        #expect(try server.client.send("GET", "/health").status == 200)
    }

    /// A query parameter given twice gets 400 naming it on every route, inline and on the handler pool, instead of
    /// one of its values being used silently.
    @Test func repeatedQueryParameterGets400() throws {
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)
        let targets = [
            "/instances?state=running&state=stopped", "/instances?state=running&state=running",
            "/transitions?after=1&limit=2&after=3", "/usage?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&to=x",
            "/metrics?a=1&a=2", "/health?a=1&a=1", "/openapi.json?a=1&a=2", "/instances/none?x=1&x=2",
        ]
        for target in targets {
            expectError(
                try server.client.send("GET", target), status: 400, code: "invalid_argument",
                mentioning: ["more than once"], target)
        }
        #expect(try server.client.send("GET", "/instances?state=running").status == 200)
    }

    /// A chunked body gives no length up front; one that grows past the limit gets 413 too.
    @Test func oversizedChunkedBodyGets413() throws {
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)

        let connection = try WireConnection(port: server.port)
        try connection.send(
            "POST /instances HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(server.client.token)\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        let chunk = Data("10000\r\n".utf8) + Data(repeating: UInt8(ascii: " "), count: 0x10000) + Data("\r\n".utf8)
        for _ in 0..<(10 * 16) {
            try connection.send(chunk)
        }
        try connection.send("0\r\n\r\n")
        let response = try connection.readResponse(timeout: .seconds(30))

        expectError(response, status: 413, code: "payload_too_large")
        #expect(try server.client.send("GET", "/health").status == 200)
    }

    /// Garbage instead of a request line gets 400 (or 505 for an unknown version) or a closed connection, and
    /// the server keeps serving requests.
    @Test func garbageRequestLineIsRejected() throws {
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)
        let garbage: [Data] = [
            Data("HELLO\r\n\r\n".utf8),
            Data("GET\r\n\r\n".utf8),
            Data("GET /health HTTP/9.9\r\n\r\n".utf8),
            Data("GET /health FTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Data([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + Data("\r\n\r\n".utf8),
            Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }) + Data("\r\n\r\n".utf8),
            Data(("GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n").utf8),
            Data("GET /health HTTP/1.1\r\nBad Header Without Colon\r\n\r\n".utf8),
        ]
        for bytes in garbage {
            let label = String(decoding: bytes.prefix(24), as: UTF8.self)
            let connection = try WireConnection(port: server.port)
            try? connection.send(bytes)
            if let response = try? connection.readResponse(timeout: .seconds(10)) {
                #expect(
                    [400, 414, 431, 505].contains(response.status),
                    "garbage '\(label)' got \(response.status): \(response.text)")
            }
            connection.close()
            let health = try server.client.send("GET", "/health")
            #expect(health.status == 200, "no health answer after garbage '\(label)'")
        }
        #expect(server.process.isRunning)
    }

    /// A client that sends its headers one byte a second does not hold up another client's requests.
    @Test func slowHeadersDoNotBlockOthers() throws {
        let directory = try TestDataDirectory()
        let server = try StintServer(directory: directory)
        let events = EventLog()
        let slowConnection = try WireConnection(port: server.port)
        let descriptor = slowConnection.descriptor

        let slowClient = Thread {
            let header = Array("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".utf8)
            for byte in header.prefix(5) {
                _ = withUnsafePointer(to: byte) { Glibc.send(descriptor, $0, 1, Int32(MSG_NOSIGNAL)) }
                sleep(1)
            }
            events.record("slow client finished")
        }
        slowClient.start()
        usleep(300_000)

        var answered = 0
        for _ in 0..<10 {
            let response = try server.client.send("GET", "/instances", timeout: .seconds(10))
            #expect(response.status == 200)
            answered += 1
        }
        #expect(answered == 10)
        #expect(
            events.first("slow client finished") == nil,
            "the other client's requests were answered only after the slow client finished")
        while events.first("slow client finished") == nil {
            usleep(100_000)
        }
        #expect(server.process.isRunning)
    }
}
