import Synchronization

/// Decoded metadata of this process, so listing many instances does not decode unchanged files again.
///
/// An entry is used only when the slot a read selects has the generation and checksum the entry was decoded from.
/// Every write raises the generation, so a changed instance is always decoded again.
final class MetadataCache: Sendable {
    /// The identity of one version of an instance's metadata.
    struct Version: Equatable, Sendable {
        var generation: UInt64
        var checksum: UInt32
    }

    static let shared = MetadataCache()

    private let entries = Mutex<[String: (version: Version, metadata: InstanceMetadata)]>([:])

    func metadata(in directory: String, version: Version) -> InstanceMetadata? {
        entries.withLock { entries in
            guard let entry = entries[directory], entry.version == version else { return nil }
            return entry.metadata
        }
    }

    func store(_ metadata: InstanceMetadata, in directory: String, version: Version) {
        entries.withLock { $0[directory] = (version, metadata) }
    }

    /// Forgets the instance in `directory`, whose directory is gone.
    func remove(in directory: String) {
        _ = entries.withLock { $0.removeValue(forKey: directory) }
    }
}
