import HTTPServer

extension HTTPRequest {
    /// Rejects query parameters outside `allowed`, and any parameter given more than once, because every
    /// parameter of the API takes one value.
    func requireQuery(allowed: Set<String>) throws {
        let unknown = Set(query.keys).subtracting(allowed).sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest(
                "unknown query parameter \(unknown.map { "'\($0)'" }.joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))"
            )
        }
        if let name = repeatedQueryNames.sorted().first {
            throw APIError.badRequest("query parameter '\(name)' is given more than once; give it once")
        }
    }
}
