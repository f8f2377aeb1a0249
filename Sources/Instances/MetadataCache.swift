import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Decoded `metadata.json` files of this process, so listing many instances does not decode unchanged files again.
///
/// Every write renames a new file into place, so a changed file always has another inode. An entry is used only
/// when the open file's inode, size and modification time all match the ones it was decoded from.
final class MetadataCache: Sendable {
    /// The identity of one version of a file, read with `fstat` from the descriptor the content is read from.
    struct FileVersion: Equatable, Sendable {
        var inode: UInt64
        var size: Int64
        var modifiedNanoseconds: Int64

        init?(descriptor: Int32) {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { return nil }
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedNanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        }
    }

    static let shared = MetadataCache()

    private let entries = Mutex<[String: (version: FileVersion, metadata: InstanceMetadata)]>([:])

    func metadata(at path: String, version: FileVersion) -> InstanceMetadata? {
        entries.withLock { entries in
            guard let entry = entries[path], entry.version == version else { return nil }
            return entry.metadata
        }
    }

    func store(_ metadata: InstanceMetadata, at path: String, version: FileVersion) {
        entries.withLock { $0[path] = (version, metadata) }
    }

    /// Forgets the file at `path`, for an instance whose directory is gone.
    func remove(at path: String) {
        _ = entries.withLock { $0.removeValue(forKey: path) }
    }
}
