import Foundation
import HTTPServer
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite struct HTTPServerRequestTests {
    @Test func getReturnsHandlerResponse() throws {
        let server = try startServer { request in
            textResponse("hello \(request.method) \(request.path)")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/greeting")
        #expect(response.status == 200)
        #expect(response.bodyText == "hello GET /greeting")
        #expect(response.headers["content-type"] == "text/plain")
    }

    @Test func postBodyReachesHandler() throws {
        let server = try startServer { request in
            HTTPResponse(status: 201, body: .data(request.body))
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let body = Data((0..<100_000).map { UInt8($0 % 251) })
        let response = try RawHTTPConnection.request(
            port: server.boundPort, method: "POST", target: "/upload", body: body)
        #expect(response.status == 201)
        #expect(response.body == body)
    }

    @Test func urlSessionGetAndPost() throws {
        let server = try startServer { request in
            textResponse("\(request.method):\(String(decoding: request.body, as: UTF8.self))")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }
        let url = try #require(URL(string: "http://127.0.0.1:\(server.boundPort)/items"))

        let getResult = try fetch(URLRequest(url: url))
        #expect(getResult.status == 200)
        #expect(getResult.body == "GET:")

        var post = URLRequest(url: url)
        post.httpMethod = "POST"
        post.httpBody = Data("{\"name\":\"a\"}".utf8)
        let postResult = try fetch(post)
        #expect(postResult.status == 200)
        #expect(postResult.body == "POST:{\"name\":\"a\"}")
    }

    @Test func queryParametersAreDecoded() throws {
        let captured = SharedValue<[String: String]>([:])
        let server = try startServer { request in
            captured.value = request.query
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(
            port: server.boundPort, target: "/search?a=1&b=x%20y&a=2&c=p+q&flag&bad=%zz")
        #expect(response.status == 200)
        let query = captured.value
        #expect(query["a"] == "2")
        #expect(query["b"] == "x y")
        #expect(query["c"] == "p q")
        #expect(query["flag"] == "")
        #expect(query["bad"] == "%zz")
        #expect(query.count == 5)
    }

    @Test func headersAreLowercasedAndJoined() throws {
        let captured = SharedValue<HTTPRequest?>(nil)
        let server = try startServer { request in
            captured.value = request
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort)
        connection.send(
            "GET /h HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trace-ID: abc\r\nAccept: text/plain\r\n"
                + "Accept: application/json\r\nConnection: close\r\n\r\n")
        let response = try connection.readResponse()
        #expect(response.status == 200)
        let request = try #require(captured.value)
        #expect(request.headers["x-trace-id"] == "abc")
        #expect(request.headers["accept"] == "text/plain, application/json")
        #expect(request.headers["X-Trace-ID"] == nil)
        #expect(request.remoteAddress == "127.0.0.1")
    }

    @Test func rawPathKeepsEscapes() throws {
        let captured = SharedValue<String>("")
        let server = try startServer { request in
            captured.value = request.path
            return textResponse("ok")
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/files/a%2Fb?x=1")
        #expect(response.status == 200)
        #expect(captured.value == "/files/a%2Fb")
    }

    @Test func responseHeadersAndStatusAreSent() throws {
        let server = try startServer { _ in
            HTTPResponse(status: 404, headers: ["X-Request-ID": "r1", "Content-Type": "application/json"])
        }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/missing")
        #expect(response.status == 404)
        #expect(response.headers["x-request-id"] == "r1")
        #expect(response.body.isEmpty)
    }

    @Test func invalidStatusBecomes500() throws {
        let server = try startServer { _ in HTTPResponse(status: 42) }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let response = try RawHTTPConnection.request(port: server.boundPort, target: "/")
        #expect(response.status == 500)
        #expect(response.bodyText.contains("\"code\":\"internal_error\""))
    }

    @Test func keepAliveServesSeveralRequests() throws {
        let server = try startServer { request in textResponse(request.path) }
        defer { server.shutdown(gracePeriod: .seconds(1)) }

        let connection = try RawHTTPConnection(port: server.boundPort)
        for index in 0..<3 {
            connection.send("GET /\(index) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 200)
            #expect(response.bodyText == "/\(index)")
        }
    }

    @Test func loggerRecordsOneLinePerRequest() throws {
        let recorder = LogRecorder()
        var configuration = HTTPServer.Configuration()
        configuration.logger = recorder.logger
        let server = try startServer(configuration: configuration) { _ in textResponse("ok", status: 202) }

        _ = try RawHTTPConnection.request(port: server.boundPort, method: "DELETE", target: "/things/1?secret=x")
        server.shutdown(gracePeriod: .seconds(1))

        let entries = recorder.entries
        #expect(entries.count == 1)
        let metadata = try #require(entries.first?.1)
        #expect(metadata["http.method"] == "DELETE")
        #expect(metadata["http.path"] == "/things/1")
        #expect(metadata["http.status"] == "202")
        #expect(metadata["http.duration_ms"].flatMap(Int.init) != nil)
        #expect(metadata["http.termination"] == nil)
    }

    /// Sends `request` with URLSession and waits for the result.
    private func fetch(_ request: URLRequest) throws -> (status: Int, body: String) {
        let result = SharedValue<(Int, String)?>(nil)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, _ in
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            result.value = (status, String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 10) == .success, let value = result.value else {
            throw RawHTTPConnection.Failure(
                description: "URLSession request to \(request.url?.absoluteString ?? "") timed out")
        }
        return (value.0, value.1)
    }
}
