import CSystemCalls
import Foundation
import Synchronization

/// A thread that starts writeback of a file's dirty pages every few milliseconds while another process writes the
/// file, so that the final `fsync` has little left to write.
///
/// `sync_file_range` with `SYNC_FILE_RANGE_WRITE` only queues writeback and does not wait for it, and it makes no
/// data durable on its own: the caller still calls `fsync` after `stop()`.
final class WritebackStarter: Sendable {
    /// Time between two `sync_file_range` calls.
    static let interval: Duration = .milliseconds(4)

    private let descriptor: Int32
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread for the open file `descriptor`, which must stay open until `stop()` returns.
    init(descriptor: Int32) {
        self.descriptor = descriptor
        let thread = Thread { [self] in
            let microseconds = UInt32(Self.interval.components.attoseconds / 1_000_000_000_000)
            while !stopRequested.load(ordering: .acquiring) {
                // A failure here (EIO, for example) shows again in the caller's fsync, which reports it.
                _ = stint_start_writeback(descriptor)
                usleep(microseconds)
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops the thread and waits until it has made its last call.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        finished.wait()
    }
}
