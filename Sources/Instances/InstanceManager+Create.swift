import Foundation
import GuestImage
import Hypervisor
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The parameters of a new instance.
public struct CreateRequest: Sendable {
    public var name: String
    public var command: [String]
    public var memoryMiB: Int
    public var vcpus: Int

    public static let memoryRangeMiB = 64...65_536
    public static let vcpuRange = 1...64

    public init(name: String, command: [String], memoryMiB: Int = 256, vcpus: Int = 1) {
        self.name = name
        self.command = command
        self.memoryMiB = memoryMiB
        self.vcpus = vcpus
    }

    /// Throws an invalid-argument error naming the first field that is out of range.
    public func validate() throws {
        try InstanceIdentity.validateName(name)
        guard !command.isEmpty, !(command.first ?? "").isEmpty else {
            throw InstancesError.invalid(
                "missing command: give the program to run in the guest, e.g. -- sh -c 'echo hi'")
        }
        guard Self.memoryRangeMiB.contains(memoryMiB) else {
            throw InstancesError.invalid(
                "invalid memory \(memoryMiB) MiB: use \(Self.memoryRangeMiB.lowerBound) to \(Self.memoryRangeMiB.upperBound) MiB"
            )
        }
        guard Self.vcpuRange.contains(vcpus) else {
            throw InstancesError.invalid(
                "invalid vcpus \(vcpus): use \(Self.vcpuRange.lowerBound) to \(Self.vcpuRange.upperBound)")
        }
        do {
            _ = try GuestCommandLine.kernelCommandLine(command: command)
        } catch {
            throw InstancesError.invalid("invalid command: \(error)")
        }
    }
}

extension InstanceManager {
    /// Creates an instance in the `created` phase. Names are unique within the data directory.
    public func create(_ request: CreateRequest) throws -> InstanceStatus {
        try request.validate()
        let storeLock = try store.lockStore(timeout: configuration.lockTimeout)
        defer { storeLock.unlock() }
        try ensureNameIsFree(request.name)

        let id = InstanceIdentity.generateID()
        let createdAt = now()
        var metadata = InstanceMetadata(
            id: id, name: request.name, createdAt: createdAt, memoryMiB: request.memoryMiB, vcpus: request.vcpus,
            command: request.command)
        metadata.transition(to: .created, at: createdAt)
        try publish(metadata, prepare: { _ in })
        FaultPoint.reach("create.after-publish")
        return status(ofID: id)
    }

    /// Deletes an instance and its files. A live instance needs `force`, which ends its hypervisor first.
    public func delete(_ reference: String, force: Bool) throws {
        let storeLock = try store.lockStore(timeout: configuration.lockTimeout)
        defer { storeLock.unlock() }
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            if metadata.state.isLive {
                guard force else {
                    throw InstancesError.conflict(
                        "instance '\(metadata.name)' is \(metadata.state.rawValue); stop it first or delete with --force"
                    )
                }
                metadata.pendingOperation = PendingOperation(
                    kind: .delete, previousPhase: metadata.state, generation: metadata.generation)
                try save(&metadata)
                let moment = terminateHypervisor(metadata)
                InstanceManager.recordHypervisorExit(
                    &metadata, paths: paths, at: moment, status: "killed by delete", source: .operation,
                    estimated: false)
                try save(&metadata)
            }
            try recordDeletion(&metadata)
            FaultPoint.reach("delete.after-journal")
            let trash = store.instancesDirectory + "/.deleted-\(metadata.id)-\(UInt32.random(in: 0...UInt32.max))"
            guard rename(paths.directory, trash) == 0 else {
                throw DurableFile.systemError("rename to \(trash)", paths.directory)
            }
            try DurableFile.syncDirectory(store.instancesDirectory)
            MetadataCache.shared.remove(in: paths.directory)
            FaultPoint.reach("delete.after-rename")
            return trash
        }
        try? FileManager.default.removeItem(atPath: id)
    }

    /// Writes the final journal entry of an instance, closing its last phase. The instance's usage stays queryable
    /// from the journal after its directory is gone. Throws, and deletes nothing, when the journal cannot be written.
    private func recordDeletion(_ metadata: inout InstanceMetadata) throws {
        let moment = now()
        var entries = metadata.journalOutbox
        if let current = metadata.phases.currentPhase, let since = metadata.phases.since {
            let instant = moment.isBefore(since) ? since : moment
            entries.append(
                PendingJournalEntry(
                    sequence: metadata.phases.transitionCount + 1, from: current.rawValue, to: "deleted", at: instant,
                    previousPhaseNanoseconds: max(0, instant.nanoseconds(since: since)), source: .operation,
                    estimated: false))
        }
        // NOTE: if the process dies after this write and before the directory is renamed, the instance stays
        // listed although the journal already closed it. A later transition with the same sequence is then ignored.
        let journal = try Journal(dataDirectory: store.dataDirectory)
        try journal.append(entries, instanceID: metadata.id, instanceName: metadata.name)
        try journal.sync()
        metadata.journalOutbox.removeAll()
    }

    func ensureNameIsFree(_ name: String) throws {
        for id in store.instanceIDs() {
            if let existing = try? store.loadMetadata(id: id), existing.name == name {
                throw InstancesError.conflict(
                    "an instance named '\(name)' already exists (id \(id)); choose another name or delete it first")
            }
        }
    }

    /// Writes a new instance into a temporary directory and renames it into place, so a crash never leaves a
    /// half-made instance under a valid id. `prepare` fills the temporary directory (for example with a snapshot).
    func publish(_ metadata: InstanceMetadata, prepare: (InstancePaths) throws -> Void) throws {
        let temporary = InstancePaths(directory: store.instancesDirectory + "/.creating-\(metadata.id)")
        let final = store.paths(forID: metadata.id)
        do {
            for directory in [temporary.directory, temporary.logs] {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            try prepare(temporary)
            try temporary.metadataSlots.create(try InstanceStore.encode(metadata))
            guard rename(temporary.directory, final.directory) == 0 else {
                throw DurableFile.systemError("rename to \(final.directory)", temporary.directory)
            }
            try DurableFile.syncDirectory(store.instancesDirectory)
            store.flushJournal(metadata)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary.directory)
            throw InstancesError.failed("creating instance '\(metadata.name)'", error)
        }
    }
}
