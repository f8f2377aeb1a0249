import Foundation
import PhaseTracking
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// Leftovers of restores and the journal's handling of entries it already stores, without guests.
@Suite struct SnapshotCleanupTests {
    let directory: String
    let manager: InstanceManager

    init() throws {
        directory = try makeTemporaryDirectory(prefix: "stint-cleanup")
        manager = try InstanceManager(
            configuration: ManagerConfiguration(dataDirectory: directory, stintExecutable: "/bin/false"))
    }

    func install(name: String) throws -> InstanceMetadata {
        let now = SystemClock().now()
        var metadata = InstanceMetadata(
            id: InstanceIdentity.generateID(), name: name, createdAt: now, memoryMiB: 256, vcpus: 1,
            command: ["true"])
        metadata.transition(to: .created, at: now)
        try FileManager.default.createDirectory(
            atPath: manager.store.paths(forID: metadata.id).directory, withIntermediateDirectories: true)
        try manager.store.saveMetadata(&metadata)
        return metadata
    }

    @Test func doctorFindsAndRemovesConsumedSnapshot() throws {
        let metadata = try install(name: "restored")
        let paths = manager.store.paths(forID: metadata.id)
        let consumed = paths.consumedSnapshotDirectory(generation: 3)
        try FileManager.default.createDirectory(atPath: consumed, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: consumed + "/memory.img", contents: Data(count: 4096)))

        let findings = manager.diagnose().filter { $0.subject == consumed }
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .leftoverDirectory)

        #expect(manager.removeLeftovers() == [consumed])
        #expect(!FileManager.default.fileExists(atPath: consumed))
        #expect(FileManager.default.fileExists(atPath: paths.metadata))
        #expect(manager.diagnose().isEmpty)
    }

    @Test func doctorRemovesUnreferencedSnapshot() throws {
        var metadata = try install(name: "interrupted")
        let paths = manager.store.paths(forID: metadata.id)
        try FileManager.default.createDirectory(atPath: paths.snapshotDirectory, withIntermediateDirectories: true)
        #expect(
            FileManager.default.createFile(atPath: paths.snapshotDirectory + "/memory.img", contents: Data(count: 64)))

        // While an operation holds the instance lock with its intent saved, the directory may be a standby in
        // progress, so it stays.
        let lock = try manager.store.lockInstance(id: metadata.id, timeout: .zero)
        metadata.pendingOperation = PendingOperation(
            kind: .standby, previousPhase: .running, generation: metadata.generation, startedAt: SystemClock().now())
        try manager.store.saveMetadata(&metadata)
        #expect(manager.diagnose().filter { $0.subject == paths.snapshotDirectory }.isEmpty)
        #expect(manager.removeLeftovers().isEmpty)
        #expect(FileManager.default.fileExists(atPath: paths.snapshotDirectory))

        metadata.pendingOperation = nil
        try manager.store.saveMetadata(&metadata)
        lock.unlock()
        let findings = manager.diagnose().filter { $0.subject == paths.snapshotDirectory }
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .leftoverDirectory)
        #expect(manager.removeLeftovers() == [paths.snapshotDirectory])
        #expect(!FileManager.default.fileExists(atPath: paths.snapshotDirectory))
    }

    @Test func journalSkipsStoredEntriesAndKeepsNewOnes() throws {
        var metadata = try install(name: "journaled")
        // The outbox was copied by the save above and is still in metadata.json, as after every operation.
        var reloaded = try manager.store.loadMetadata(id: metadata.id)
        #expect(reloaded.journalOutbox.count == 1)

        metadata.transition(to: .stopped, at: SystemClock().now())
        reloaded.journalOutbox += metadata.journalOutbox.filter { $0.sequence > 1 }
        manager.store.flushJournal(&reloaded)
        #expect(reloaded.journalOutbox.isEmpty)

        let journal = try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id)
        #expect(journal.map(\.sequence) == [1, 2])
        #expect(journal.map(\.to) == ["created", "stopped"])
    }

    @Test func staleImageDoesNotPassForNewStandby() throws {
        let path = directory + "/memory.img"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(count: 16)))
        let written = SystemClock().now()
        #expect(InstanceManager.imageWasWritten(at: path, after: nil))
        #expect(InstanceManager.imageWasWritten(at: path, after: written.adding(nanoseconds: -1_000_000_000)))
        #expect(!InstanceManager.imageWasWritten(at: path, after: written.adding(nanoseconds: 1_000_000_000)))
        #expect(!InstanceManager.imageWasWritten(at: directory + "/missing.img", after: nil))
    }
}
