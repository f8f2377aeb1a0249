import Foundation
import PhaseTracking
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct JournalTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-journal")
    }

    func metadata(transitions count: Int) -> InstanceMetadata {
        var clock = HostInstant(wallNanoseconds: 1_772_442_000_000_000_000, bootNanoseconds: 1, bootID: "boot")
        var metadata = InstanceMetadata(
            id: "0123456789abcdef", name: "feed", createdAt: clock, memoryMiB: 256, vcpus: 1, command: ["true"])
        let cycle: [Phase] = [.created, .initializing, .running, .paused]
        for index in 0..<count {
            metadata.transition(to: cycle[index % cycle.count], at: clock)
            clock = clock.adding(nanoseconds: 1_000_000_000)
        }
        return metadata
    }

    @Test func readerResumesFromCursor() throws {
        var metadata = metadata(transitions: 5)
        let journal = try Journal(dataDirectory: directory)
        try journal.append(metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
        let seen = try journal.transitions(instanceID: metadata.id, afterSequence: 0, limit: 100)
        #expect(seen.map(\.sequence) == [1, 2, 3, 4, 5])

        metadata.journalOutbox.removeAll()
        var clock = metadata.phases.since ?? metadata.createdAt
        for phase in [Phase.running, .standby, .running] {
            clock = clock.adding(nanoseconds: 2_000_000_000)
            metadata.transition(to: phase, at: clock)
        }
        try Journal(dataDirectory: directory).append(
            metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
        try Journal(dataDirectory: directory).sync()

        let reopened = try Journal(dataDirectory: directory)
        let next = try reopened.transitions(instanceID: metadata.id, afterSequence: 5, limit: 100)
        #expect(next.map(\.sequence) == [6, 7, 8])
        #expect(next.map(\.to) == ["running", "standby", "running"])
        #expect(next.allSatisfy { $0.previousPhaseNanoseconds == 2_000_000_000 })

        let lastCursor = seen.last?.cursor ?? 0
        #expect(try reopened.transitions(afterCursor: lastCursor, limit: 100).map(\.sequence) == [6, 7, 8])
    }

    @Test func replayedEntriesAreStoredOnce() throws {
        let metadata = metadata(transitions: 3)
        for _ in 0..<3 {
            try Journal(dataDirectory: directory).append(
                metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
        }
        let journal = try Journal(dataDirectory: directory)
        #expect(try journal.allTransitions(instanceID: metadata.id).count == 3)
        #expect(try journal.transitionCounts() == ["created": 1, "initializing": 1, "running": 1])
        #expect(try journal.instanceID(for: "feed") == metadata.id)
        #expect(try journal.instanceID(for: "nobody") == nil)
    }

    @Test func outboxRepairsJournalBehindMetadata() throws {
        let store = try InstanceStore(dataDirectory: directory)
        var metadata = metadata(transitions: 4)
        try FileManager.default.createDirectory(
            atPath: store.paths(forID: metadata.id).directory, withIntermediateDirectories: true)
        // The metadata write lands but the process dies before the journal write.
        try store.paths(forID: metadata.id).metadataSlots.write(try InstanceStore.encode(metadata))
        #expect(try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id).isEmpty)

        let loaded = try store.loadMetadata(id: metadata.id)
        #expect(loaded.journalOutbox.count == 4)
        store.flushJournal(loaded)
        #expect(
            try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id).map(\.sequence) == [
                1, 2, 3, 4,
            ])
        metadata.journalOutbox.removeAll()
    }
}
