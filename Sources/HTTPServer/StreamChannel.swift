import CMicroHTTPD
import Foundation

/// The buffer between a stream producer thread and libmicrohttpd's content reader callback.
///
/// When the reader finds the buffer empty it suspends the connection, so libmicrohttpd does not poll
/// the reader in a busy loop, and the next write, `finish()` or `cancel` resumes it. Suspending and
/// resuming both happen while `condition` is locked, so a resume never precedes its suspend.
///
/// `@unchecked Sendable` is safe because every mutable field is read and written only while `condition`
/// is locked.
final class StreamChannel: @unchecked Sendable {
    /// Bytes that may wait to be sent before `write` blocks the producer.
    static let bufferLimit = 256 * 1024

    private let condition = NSCondition()
    private let connection: ConnectionHandle
    private var buffer: [UInt8] = []
    private var readOffset = 0
    private var finished = false
    private var cancelled = false
    private var suspended = false

    init(connection: ConnectionHandle) {
        self.connection = connection
    }

    var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Appends `data`; see `StreamWriter.write(_:)`.
    func write(_ data: Data) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled && !finished && buffer.count - readOffset >= Self.bufferLimit {
            condition.wait()
        }
        guard !cancelled && !finished else { return false }
        buffer.append(contentsOf: data)
        resumeIfSuspended()
        return true
    }

    /// Marks the end of the body after the producer returned.
    func finish() {
        condition.lock()
        defer { condition.unlock() }
        finished = true
        resumeIfSuspended()
    }

    /// Rejects further writes and wakes a blocked producer. `resumeConnection` must be false once the
    /// connection is closed, because resuming a closed connection is undefined in libmicrohttpd.
    func cancel(resumeConnection: Bool) {
        condition.lock()
        defer { condition.unlock() }
        cancelled = true
        condition.broadcast()
        if resumeConnection {
            resumeIfSuspended()
        } else {
            suspended = false
        }
    }

    /// Copies up to `capacity` buffered bytes into `destination`; called by libmicrohttpd's thread.
    /// Returns the byte count, or the libmicrohttpd end-of-stream and error codes.
    func read(into destination: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        if cancelled {
            return ContentReaderResult.endWithError
        }
        let available = buffer.count - readOffset
        if available > 0 {
            let count = min(available, capacity)
            buffer.withUnsafeBytes { bytes in
                guard let base = bytes.baseAddress else { return }
                UnsafeMutableRawPointer(destination).copyMemory(from: base + readOffset, byteCount: count)
            }
            readOffset += count
            compactBuffer()
            condition.broadcast()
            return count
        }
        if finished {
            return ContentReaderResult.endOfStream
        }
        suspended = true
        connection.suspend()
        return 0
    }

    private func resumeIfSuspended() {
        guard suspended else { return }
        suspended = false
        connection.resume()
    }

    private func compactBuffer() {
        if readOffset == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readOffset = 0
        } else if readOffset >= 64 * 1024 && readOffset * 2 >= buffer.count {
            buffer.removeFirst(readOffset)
            readOffset = 0
        }
    }
}

/// The special return values of a libmicrohttpd content reader (`MHD_CONTENT_READER_END_OF_STREAM` and
/// `MHD_CONTENT_READER_END_WITH_ERROR`, macros that Swift does not import).
enum ContentReaderResult {
    static let endOfStream = -1
    static let endWithError = -2
}
