import Dispatch

extension Array where Element: Sendable {
    /// Maps the elements on all cores, keeping their order. Worth it only when `transform` takes tens of
    /// microseconds or more, as decoding an instance's metadata does.
    public func concurrentMap<Result: Sendable>(_ transform: @Sendable (Element) -> Result) -> [Result] {
        guard count > 1 else { return map(transform) }
        let chunkCount = Swift.min(count, 64)
        let chunkSize = (count + chunkCount - 1) / chunkCount
        let chunks = UnsafeMutableBufferPointer<[Result]>.allocate(capacity: chunkCount)
        chunks.initialize(repeating: [])
        defer { chunks.deinitialize().deallocate() }
        nonisolated(unsafe) let results = chunks
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let start = chunk * chunkSize
            let end = Swift.min(start + chunkSize, count)
            guard start < end else { return }
            // Each iteration writes only its own slot.
            results[chunk] = self[start..<end].map(transform)
        }
        return chunks.flatMap { $0 }
    }
}
