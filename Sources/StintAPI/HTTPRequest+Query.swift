import HTTPServer

extension HTTPRequest {
    /// Rejects query parameters outside `allowed`.
    func requireQuery(allowed: Set<String>) throws {
        let unknown = Set(query.keys).subtracting(allowed).sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest(
                "unknown query parameter\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))"
            )
        }
    }

    /// Rejects a query parameter given more than once, on every route, because every parameter of the API takes one
    /// value and using one of several silently would hide a client's mistake.
    func rejectRepeatedQuery() throws {
        if let name = repeatedQueryNames.sorted().first {
            throw APIError.badRequest("query parameter '\(name)' is given more than once; give it once")
        }
    }
}
