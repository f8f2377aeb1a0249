/// A response body in memory of its own, which libmicrohttpd sends from where it lies instead of copying it.
///
/// The content is written once, by the closure passed to the initializer, and never changes afterwards. The server
/// keeps the value alive until libmicrohttpd has sent it.
public final class ResponseBytes: @unchecked Sendable {
    // Unchecked: the memory is written only inside `init` and only read afterwards.
    private let storage: UnsafeMutableRawBufferPointer
    /// The number of bytes of content.
    public let count: Int

    /// Allocates `capacity` bytes and lets `fill` write the content from the start of the buffer. `fill` returns
    /// how many bytes it wrote, at most `capacity`; a larger or negative return is clamped.
    public init(capacity: Int, fill: (UnsafeMutableRawBufferPointer) -> Int) {
        storage = .allocate(byteCount: max(capacity, 1), alignment: 16)
        count = min(max(fill(UnsafeMutableRawBufferPointer(rebasing: storage[0..<capacity])), 0), capacity)
    }

    deinit {
        storage.deallocate()
    }

    /// Calls `body` with the content, which stays valid only while `body` runs.
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(self) { try body(UnsafeRawBufferPointer(rebasing: storage[0..<count])) }
    }
}
