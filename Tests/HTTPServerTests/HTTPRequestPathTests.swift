import HTTPServer
import Testing

@Suite struct HTTPRequestPathTests {
    @Test func segmentsAreDecoded() throws {
        let request = HTTPRequest(method: "GET", path: "/instances/vm%201/logs/")
        #expect(try request.pathSegments() == ["instances", "vm 1", "logs"])
    }

    @Test func rootHasNoSegments() throws {
        #expect(try HTTPRequest(method: "GET", path: "/").pathSegments() == [])
    }

    @Test(arguments: [
        "/files/a%2Fb", "/files/a%2fb", "/files/..", "/files/%2E%2E", "/./x", "/a/%2e", "/a%00b", "/a%zz",
        "/a%2", "/a%FF", "relative/path",
    ])
    func invalidPathIsRejected(path: String) {
        let request = HTTPRequest(method: "GET", path: path)
        #expect(throws: HTTPServerError.self) { try request.pathSegments() }
    }

    @Test func rejectionNamesThePath() {
        let request = HTTPRequest(method: "GET", path: "/files/a%2Fb")
        do {
            _ = try request.pathSegments()
            Issue.record("encoded slash was accepted")
        } catch let error as HTTPServerError {
            #expect(error.code == .invalidPath)
            #expect(error.message.contains("/files/a%2Fb"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
