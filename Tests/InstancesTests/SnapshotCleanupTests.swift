import Foundation
import PhaseTracking
import ProcessSupport
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// Leftovers of restores, damaged metadata slots that doctor reports or sets aside, and the journal outbox, without
/// guests.
@Suite struct SnapshotCleanupTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }
    let manager: InstanceManager

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-cleanup")
        manager = try InstanceManager(
            configuration: ManagerConfiguration(dataDirectory: temporary.path, stintExecutable: "/bin/false"))
    }

    func install(name: String) throws -> InstanceMetadata {
        let now = SystemClock().now()
        var metadata = InstanceMetadata(
            id: InstanceIdentity.generateID(), name: name, createdAt: now, memoryMiB: 256, vcpus: 1,
            command: ["true"])
        metadata.transition(to: .created, at: now)
        let paths = manager.store.paths(forID: metadata.id)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        // Both slots exist from the start, as after a create; the save then stores the journal entry.
        try paths.metadataSlots.create(try InstanceStore.encode(metadata))
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
        #expect(paths.metadataSlots.exist)
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

    @Test func outboxKeepsEntriesUntilJournalSync() throws {
        let metadata = try install(name: "journaled")
        // The journal has the created entry, committed without a sync, so the entry stays in the outbox.
        var reloaded = try manager.store.loadMetadata(id: metadata.id)
        #expect(reloaded.journalOutbox.map(\.sequence) == [1])
        #expect(try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id).map(\.sequence) == [1])

        // Each transition is stored once. A save whose outbox reaches the threshold syncs the journal and keeps only
        // its own new entry, which the journal does not have yet.
        var expected = [1]
        for (index, phase) in [Phase.stopped, .initializing, .running, .paused, .running, .paused].enumerated() {
            let sequence = index + 2
            expected.append(sequence)
            if expected.count >= InstanceStore.outboxSyncThreshold {
                expected = [sequence]
            }
            reloaded.transition(to: phase, at: SystemClock().now())
            try manager.store.saveMetadata(&reloaded)
            #expect(reloaded.journalOutbox.map(\.sequence) == expected, "after sequence \(sequence)")
            let stored = try manager.store.loadMetadata(id: metadata.id)
            #expect(stored.journalOutbox.map(\.sequence) == expected, "stored after sequence \(sequence)")
            let journal = try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id)
            #expect(journal.map(\.sequence) == Array(1...sequence))
        }
    }

    func damage(_ path: String) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data("X".utf8))
        try handle.close()
    }

    @Test func damagedSlotIsReported() throws {
        let paths = manager.store.paths(forID: try install(name: "half").id)
        #expect(manager.diagnose().isEmpty)

        try damage(paths.metadataSlots.path(slot: 1))
        let findings = manager.diagnose()
        #expect(findings.count == 1)
        #expect(findings.first?.kind == .damagedSlot)
        #expect(findings.first?.detail.contains(paths.metadataSlots.path(slot: 1)) == true)
        #expect(findings.first?.detail.contains("checksum") == true)
        #expect(manager.list().first?.state == .created)
    }

    @Test func moveAsideRefusesWhileProcessesRun() throws {
        let paths = manager.store.paths(forID: try install(name: "broken").id)
        for slot in MetadataSlots.fileNames.indices {
            try damage(paths.metadataSlots.path(slot: slot))
        }
        #expect(manager.diagnose().map(\.kind) == [.brokenInstance])

        // A process with a path inside the instance directory among its arguments, as a monitor and QEMU have.
        let process = Process()
        // python3 keeps its whole command line while it sleeps, where sh would replace or fork itself.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", "import time; time.sleep(30)", paths.directory + "/qmp.sock"]
        try process.run()
        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        defer { stop() }
        // Process.run may return before the child has executed python3, so wait until its arguments show.
        let deadline = ContinuousClock.now + .seconds(10)
        while !ProcessInspector.processes(withArgumentsInside: paths.directory).contains(process.processIdentifier),
            ContinuousClock.now < deadline
        {
            usleep(10_000)
        }
        do {
            _ = try manager.moveAside(paths.directory.split(separator: "/").last.map(String.init) ?? "")
            Issue.record("moved an instance whose processes still run")
        } catch let error as InstancesError {
            #expect(error.code == .conflict)
            #expect(error.message.contains(String(process.processIdentifier)))
        }

        stop()
        let destination = try manager.moveAside(paths.directory.split(separator: "/").last.map(String.init) ?? "")
        #expect(FileManager.default.fileExists(atPath: destination))
        #expect(!FileManager.default.fileExists(atPath: paths.directory))
    }

    @Test func metadataBehindJournalIsReported() throws {
        var metadata = try install(name: "rolled-back")
        let slots = manager.store.paths(forID: metadata.id).metadataSlots
        let older = try slots.readCurrent().body
        for phase in [Phase.stopped, .standby] {
            metadata.transition(to: phase, at: SystemClock().now())
            try manager.store.saveMetadata(&metadata)
        }
        #expect(manager.diagnose().isEmpty)

        // An older version written back, as a restored backup would be.
        try slots.write(older)
        let findings = manager.diagnose()
        #expect(findings.map(\.kind) == [.journalAhead])
        #expect(findings.first?.detail.contains("transition 3") == true)
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
