import Foundation
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The data directory: instance directories, their metadata and locks.
public struct InstanceStore: Sendable {
    public let dataDirectory: String

    /// Opens (and creates, mode 0700) the data directory.
    public init(dataDirectory: String) throws {
        self.dataDirectory = dataDirectory
        for directory in [dataDirectory, dataDirectory + "/instances"] {
            do {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw InstancesError.failed(
                    "cannot create data directory '\(directory)': \(error.localizedDescription); choose another with --data-dir"
                )
            }
        }
    }

    public var instancesDirectory: String { dataDirectory + "/instances" }

    public func paths(forID id: String) -> InstancePaths {
        InstancePaths(directory: instancesDirectory + "/" + id)
    }

    /// Lists the ids of all instance directories, sorted, skipping entries that are not ids (temporary directories).
    public func instanceIDs() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: instancesDirectory)) ?? []
        return entries.filter(InstanceIdentity.isValidID).sorted()
    }

    /// Reads an instance's metadata without taking its lock: the newest complete slot of `metadata.0` and
    /// `metadata.1`.
    public func loadMetadata(id: String) throws -> InstanceMetadata {
        let slots = paths(forID: id).metadataSlots
        let record: MetadataSlots.Record
        do {
            record = try slots.readCurrent()
        } catch let error as InstancesError where error.code == .corrupt {
            if !FileManager.default.fileExists(atPath: slots.directory) {
                throw InstancesError.notFound(id)
            }
            throw error
        }
        let version = MetadataCache.Version(generation: record.generation, checksum: record.checksum)
        if let cached = MetadataCache.shared.metadata(in: slots.directory, version: version) {
            return cached
        }
        let path = slots.path(slot: record.slot)
        do {
            let metadata = try JSONDecoder().decode(InstanceMetadata.self, from: record.body)
            guard metadata.id == id else {
                throw InstancesError(
                    .corrupt, "'\(path)' names instance '\(metadata.id)' but lies in directory '\(id)'")
            }
            MetadataCache.shared.store(metadata, in: slots.directory, version: version)
            return metadata
        } catch let error as InstancesError {
            throw error
        } catch {
            throw InstancesError(.corrupt, "invalid metadata in '\(path)': \(Self.describe(error))")
        }
    }

    /// Writes an instance's metadata durably, then copies its pending transitions into the journal.
    /// The caller holds the instance lock.
    public func saveMetadata(_ metadata: inout InstanceMetadata) throws {
        try paths(forID: metadata.id).metadataSlots.write(try Self.encode(metadata))
        // The crash tests stop here only when this save carries a transition that the journal does not have yet.
        let faultPoint = "journal.after-metadata"
        if FaultPoint.isArmed(faultPoint),
            let missing = try? Journal(dataDirectory: dataDirectory).missing(
                metadata.journalOutbox, instanceID: metadata.id),
            !missing.isEmpty
        {
            FaultPoint.reach(faultPoint)
        }
        flushJournal(&metadata)
    }

    /// The number of outbox entries at which a journal append syncs the WAL and the outbox is emptied.
    static let outboxSyncThreshold = 4

    /// Copies the metadata's pending transitions into the journal. Most appends commit without a sync and leave the
    /// entries in the outbox. Once the outbox holds `outboxSyncThreshold` entries, the append syncs, and on success
    /// the outbox is emptied in memory; the next metadata write persists that. So a transition costs one sync of
    /// its metadata slot, plus a share of one WAL sync. On failure the entries stay in the metadata, and the next
    /// operation on the instance or the next journal read copies them.
    func flushJournal(_ metadata: inout InstanceMetadata) {
        guard !metadata.journalOutbox.isEmpty else { return }
        do {
            let synced = try Journal(dataDirectory: dataDirectory).append(
                metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name,
                durable: metadata.journalOutbox.count >= Self.outboxSyncThreshold)
            if synced {
                metadata.journalOutbox.removeAll()
            }
        } catch {
            // NOTE: a journal that keeps failing (full disk, damaged file) leaves the entries queued in the metadata,
            // so usage queries lag until the cause is fixed. Nothing is lost.
        }
    }

    /// Resolves a name or an id to an id. Ids win over names; names are unique.
    public func resolve(_ reference: String) throws -> String {
        if InstanceIdentity.isValidID(reference),
            FileManager.default.fileExists(atPath: paths(forID: reference).directory)
        {
            return reference
        }
        for id in instanceIDs() {
            if let metadata = try? loadMetadata(id: id), metadata.name == reference {
                return id
            }
        }
        throw InstancesError.notFound(InstanceIdentity.printable(reference))
    }

    /// Takes the exclusive lock of the store itself, which create, fork and delete hold while they check and change
    /// the set of names.
    func lockStore(timeout: Duration) throws -> FileLock {
        try FileLock.acquire(path: dataDirectory + "/instances.lock", timeout: timeout, purpose: "the data directory")
    }

    /// Takes the lock of one instance and checks the instance still exists under it.
    func lockInstance(id: String, timeout: Duration?) throws -> FileLock {
        let paths = paths(forID: id)
        guard paths.metadataSlots.exist else { throw InstancesError.notFound(id) }
        let lock = try FileLock.acquire(path: paths.lock, timeout: timeout, purpose: "instance '\(id)'")
        guard paths.metadataSlots.exist else { throw InstancesError.notFound(id) }
        return lock
    }

    static func encode(_ metadata: InstanceMetadata) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return try encoder.encode(metadata)
        } catch {
            throw InstancesError.failed("encoding metadata of instance '\(metadata.id)' failed: \(error)")
        }
    }

    /// Describes a decoding error in one line with its JSON path.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "top level" : codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        case .keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)' at \(path(context.codingPath))"
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(path(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "missing \(type) value at \(path(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }
}
