import Foundation

/// The sink of a streaming response body. One producer thread writes to it; it is safe to share.
public final class StreamWriter: Sendable {
    private let channel: StreamChannel

    init(channel: StreamChannel) {
        self.channel = channel
    }

    /// Queues `data` to be sent as the next chunk.
    ///
    /// Blocks while 256 KiB or more wait to be sent, so a slow client slows the producer down. Returns false, without queueing, once the client has gone away or the server is
    /// shutting down. A client that disconnects while nothing is being sent is noticed on the next write.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        channel.write(data)
    }

    /// Queues the UTF-8 bytes of `text`, like the `Data` overload.
    @discardableResult
    public func write(_ text: String) -> Bool {
        channel.write(Data(text.utf8))
    }

    /// True once writes are rejected because the client has gone away or the server is shutting down.
    public var isCancelled: Bool {
        channel.isCancelled
    }
}
