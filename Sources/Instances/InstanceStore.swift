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
                    .corrupt,
                    "'\(path)' names instance '\(metadata.id)' but lies in directory '\(id)'; "
                        + "run 'stint doctor --move-aside \(id)' to set it aside")
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
        dropSyncedEntries(&metadata)
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
        flushJournal(metadata)
    }

    /// The number of outbox entries at which a save syncs the journal and drops the entries it has.
    static let outboxSyncThreshold = 4

    /// Syncs the journal and removes from the outbox every entry that the journal has, once the outbox contains
    /// `outboxSyncThreshold` entries. Runs before the metadata is written. So a transition costs one sync of its
    /// metadata slot, an unsynced journal commit, and a quarter of a journal sync. On failure the entries stay.
    func dropSyncedEntries(_ metadata: inout InstanceMetadata) {
        guard metadata.journalOutbox.count >= Self.outboxSyncThreshold else { return }
        do {
            let journal = try Journal(dataDirectory: dataDirectory)
            let missing = Set(try journal.missing(metadata.journalOutbox, instanceID: metadata.id).map(\.sequence))
            try journal.sync()
            metadata.journalOutbox.removeAll { !missing.contains($0.sequence) }
        } catch {
            // NOTE: a journal that keeps failing (full disk, damaged file) leaves the entries queued in the metadata,
            // so usage queries lag until the cause is fixed. Nothing is lost.
        }
    }

    /// Copies the metadata's pending transitions into the journal without a sync. They stay in the outbox until a
    /// later save has synced the journal. On failure the next operation on the instance or the next journal read
    /// copies them.
    func flushJournal(_ metadata: InstanceMetadata) {
        guard !metadata.journalOutbox.isEmpty else { return }
        try? Journal(dataDirectory: dataDirectory).append(
            metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
    }

    /// Resolves a name or an id to an id. Ids win over names; names are unique.
    public func resolve(_ reference: String) throws -> String {
        if InstanceIdentity.isValidID(reference),
            FileManager.default.fileExists(atPath: paths(forID: reference).directory)
        {
            return reference
        }
        var unreadable = 0
        for id in instanceIDs() {
            guard let metadata = try? loadMetadata(id: id) else {
                unreadable += 1
                continue
            }
            if metadata.name == reference {
                return id
            }
        }
        guard unreadable == 0 else {
            throw InstancesError(
                .notFound,
                "no instance named or with id '\(InstanceIdentity.printable(reference))' among the readable ones; "
                    + "\(unreadable) instance\(unreadable == 1 ? " has" : "s have") unreadable metadata, which "
                    + "'stint doctor' lists with their ids")
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
