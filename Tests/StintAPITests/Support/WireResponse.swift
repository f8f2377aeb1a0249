import Foundation

/// An HTTP/1.1 response as read from the socket, with a chunked body already decoded.
struct WireResponse {
    var status: Int
    /// Header fields with lowercased names; a repeated field keeps its last value.
    var headers: [String: String]
    var body: Data
    /// False while a streaming body has not ended; always true for responses from `readResponse`.
    var isComplete: Bool

    var text: String { String(decoding: body, as: UTF8.self) }

    /// Decodes the body as JSON. Throws with the status and body text when it is not JSON.
    func json() throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        } catch {
            throw TestFailure("response \(status) is not JSON: \(text)")
        }
    }

    /// Decodes the body as `Value` with the API's snake_case field names.
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw TestFailure("response \(status) does not decode as \(type): \(error); body: \(text)")
        }
    }

    /// Parses `data` as one response. Returns nil while more bytes are needed; `complete` means the peer closed
    /// the connection, which ends a body without length. With `allowPartialBody`, a chunked body returns what
    /// whole chunks have arrived so far, with `isComplete` false.
    static func parse(_ data: Data, complete: Bool, allowPartialBody: Bool = false) throws -> WireResponse? {
        let bytes = [UInt8](data)
        guard let headerEnd = find([13, 10, 13, 10], in: bytes, from: 0) else {
            return nil
        }
        let headerText = String(decoding: bytes[0..<headerEnd], as: UTF8.self)
        var lines = headerText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let statusParts = statusLine.split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw TestFailure("invalid status line '\(statusLine)'")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let bodyStart = headerEnd + 4

        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            let (body, ended) = try decodeChunks(Array(bytes[bodyStart...]))
            guard ended || allowPartialBody else { return nil }
            return WireResponse(status: status, headers: headers, body: Data(body), isComplete: ended)
        }
        if let lengthText = headers["content-length"] {
            guard let length = Int(lengthText) else { throw TestFailure("invalid Content-Length '\(lengthText)'") }
            guard bytes.count - bodyStart >= length else { return nil }
            return WireResponse(
                status: status, headers: headers, body: Data(bytes[bodyStart..<(bodyStart + length)]), isComplete: true)
        }
        // Responses without a body by definition, or a body that ends when the server closes.
        if status == 204 || status == 304 || (100..<200).contains(status) || complete {
            return WireResponse(status: status, headers: headers, body: Data(bytes[bodyStart...]), isComplete: true)
        }
        return nil
    }

    /// Decodes the whole chunks at the start of `bytes`. Returns the data and whether the last chunk arrived.
    private static func decodeChunks(_ bytes: [UInt8]) throws -> ([UInt8], Bool) {
        var body: [UInt8] = []
        var position = 0
        while let lineEnd = find([13, 10], in: bytes, from: position) {
            let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
            let sizeField = sizeText.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(sizeField.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw TestFailure("invalid chunk size line '\(sizeText)'")
            }
            let dataStart = lineEnd + 2
            if size == 0 { return (body, true) }
            guard bytes.count >= dataStart + size + 2 else { return (body, false) }
            body.append(contentsOf: bytes[dataStart..<(dataStart + size)])
            position = dataStart + size + 2
        }
        return (body, false)
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        for index in start...(bytes.count - pattern.count)
        where bytes[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index
        }
        return nil
    }
}
