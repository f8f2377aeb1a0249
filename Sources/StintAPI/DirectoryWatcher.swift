#if canImport(Glibc)
    import Glibc
#endif

/// Changes to the entries of watched directories, read from one non-blocking inotify descriptor.
///
/// inotify queues an event while the system call that caused it runs, so after `rename(2)` returns, the next
/// `drain()` returns the rename. Events name the entry in the watched directory; subdirectories are not watched.
final class DirectoryWatcher {
    /// One change: the watch it belongs to, the inotify mask bits and the entry name (empty for the directory
    /// itself).
    struct Event {
        var watch: Int32
        var mask: UInt32
        var name: String

        /// The kernel dropped events because the queue was full; everything may have changed.
        var isOverflow: Bool { mask & UInt32(IN_Q_OVERFLOW) != 0 }
        /// The watch ended: its directory was deleted or moved, or the watch was removed.
        var endsWatch: Bool { mask & UInt32(IN_IGNORED) != 0 }
        /// The named entry appeared in the directory.
        var isArrival: Bool { mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 }
        /// The named entry left the directory.
        var isDeparture: Bool { mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 }
    }

    /// Entries created, deleted, renamed in or out, written (a truncation or a write before the close), closed
    /// after writing, or with changed attributes.
    static let entryChanges = UInt32(
        IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    private let descriptor: Int32

    /// Opens an inotify instance; nil when the kernel refuses one (the per-user limit of instances is reached).
    init?() {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
    }

    deinit {
        close(descriptor)
    }

    /// Watches `path` for `mask`, returning the watch number; nil when the directory is missing or the per-user
    /// limit of watches is reached. Watching a directory again returns its existing number.
    func watch(_ path: String, mask: UInt32 = DirectoryWatcher.entryChanges) -> Int32? {
        let watch = inotify_add_watch(descriptor, path, mask)
        return watch >= 0 ? watch : nil
    }

    /// Returns every event queued since the last call, without blocking.
    func drain() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return events }
            buffer.withUnsafeBytes { bytes in
                Self.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), into: &events)
            }
        }
    }

    /// Splits a buffer of `struct inotify_event` records: a 16-byte header (watch, mask, cookie, name length) and
    /// a NUL-padded name.
    private static func parse(_ bytes: UnsafeRawBufferPointer, into events: inout [Event]) {
        let headerSize = 16
        var offset = 0
        while offset + headerSize <= bytes.count {
            let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let nameLength = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameStart = offset + headerSize
            let nameEnd = min(nameStart + nameLength, bytes.count)
            let nameBytes = bytes[nameStart..<nameEnd].prefix { $0 != 0 }
            events.append(Event(watch: watch, mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
            offset = nameStart + nameLength
        }
    }
}
