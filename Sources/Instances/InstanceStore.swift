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

    /// Reads an instance's metadata without taking its lock; atomic renames make every read see a whole file.
    public func loadMetadata(id: String) throws -> InstanceMetadata {
        let path = paths(forID: id).metadata
        guard let file = FileHandle(forReadingAtPath: path) else {
            if !FileManager.default.fileExists(atPath: paths(forID: id).directory) {
                throw InstancesError.notFound(id)
            }
            throw InstancesError(.corrupt, "cannot read '\(path)'; check that the file exists and is readable")
        }
        defer { try? file.close() }
        let version = MetadataCache.FileVersion(descriptor: file.fileDescriptor)
        if let version, let cached = MetadataCache.shared.metadata(at: path, version: version) {
            return cached
        }
        let data = (try? file.readToEnd()) ?? Data()
        do {
            let metadata = try JSONDecoder().decode(InstanceMetadata.self, from: data)
            guard metadata.id == id else {
                throw InstancesError(
                    .corrupt, "'\(path)' names instance '\(metadata.id)' but lies in directory '\(id)'")
            }
            if let version {
                MetadataCache.shared.store(metadata, at: path, version: version)
            }
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
        try DurableFile.write(try Self.encode(metadata), to: paths(forID: metadata.id).metadata)
        if !metadata.journalOutbox.isEmpty {
            FaultPoint.reach("journal.after-metadata")
        }
        flushJournal(&metadata)
    }

    /// Copies the metadata's pending transitions into the journal and, on success, empties the outbox in memory;
    /// the next metadata write persists the empty outbox. On failure the entries stay in `metadata.json`, and the
    /// next operation on the instance or the next journal read copies them.
    func flushJournal(_ metadata: inout InstanceMetadata) {
        guard !metadata.journalOutbox.isEmpty else { return }
        do {
            try Journal(dataDirectory: dataDirectory).append(
                metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
            metadata.journalOutbox.removeAll()
        } catch {
            // NOTE: a journal that keeps failing (full disk, damaged file) leaves the entries queued in metadata.json,
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
        guard FileManager.default.fileExists(atPath: paths.metadata) else { throw InstancesError.notFound(id) }
        let lock = try FileLock.acquire(path: paths.lock, timeout: timeout, purpose: "instance '\(id)'")
        guard FileManager.default.fileExists(atPath: paths.metadata) else { throw InstancesError.notFound(id) }
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
