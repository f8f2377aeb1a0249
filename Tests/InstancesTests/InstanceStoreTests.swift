import Foundation
import PhaseTracking
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct InstanceStoreTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }
    let store: InstanceStore

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-store")
        store = try InstanceStore(dataDirectory: temporary.path)
    }

    func makeMetadata(name: String) -> InstanceMetadata {
        let now = SystemClock().now()
        var metadata = InstanceMetadata(
            id: InstanceIdentity.generateID(), name: name, createdAt: now, memoryMiB: 256, vcpus: 1,
            command: ["true"])
        metadata.transition(to: .created, at: now)
        return metadata
    }

    func install(_ metadata: InstanceMetadata) throws {
        try FileManager.default.createDirectory(
            atPath: store.paths(forID: metadata.id).directory, withIntermediateDirectories: true)
        var copy = metadata
        try store.saveMetadata(&copy)
    }

    @Test func metadataRoundTripsWithPrivateMode() throws {
        let metadata = makeMetadata(name: "alpha")
        try install(metadata)
        var journaled = metadata
        journaled.journalOutbox.removeAll()
        #expect(try store.loadMetadata(id: metadata.id) == metadata || store.loadMetadata(id: metadata.id) == journaled)

        let slots = store.paths(forID: metadata.id).metadataSlots
        let attributes = try FileManager.default.attributesOfItem(atPath: slots.path(slot: 0))
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let dataAttributes = try FileManager.default.attributesOfItem(atPath: directory)
        #expect((dataAttributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.paths(forID: metadata.id).directory)
        #expect(leftovers == ["metadata.0"])
        let journal = try Journal(dataDirectory: directory).allTransitions(instanceID: metadata.id)
        #expect(journal.map(\.to) == ["created"])
    }

    @Test func metadataWithoutPhasesLoadsEmptyTracker() throws {
        let metadata = makeMetadata(name: "legacy")
        try install(metadata)
        let slots = store.paths(forID: metadata.id).metadataSlots
        var object = try JSONSerialization.jsonObject(with: slots.readCurrent().body) as? [String: Any]
        object?.removeValue(forKey: "phases")
        try slots.write(try JSONSerialization.data(withJSONObject: object ?? [:]))

        var loaded = try store.loadMetadata(id: metadata.id)
        #expect(loaded.phases.isEmpty)
        #expect(loaded.state == .created)
        let view = InstanceView(InstanceStatus.derive(id: loaded.id, metadata: loaded, observedAt: SystemClock().now()))
        #expect(view.currentPhase == nil)
        #expect(view.phaseDurationsMilliseconds == nil)
        let json = String(decoding: try InstanceView.encode(view), as: UTF8.self)
        #expect(!json.contains("current_phase"))
        #expect(!json.contains("phase_durations_ms"))

        loaded.transition(to: .stopped, at: SystemClock().now())
        #expect(loaded.phases.currentPhase == .stopped)
    }

    /// A complete slot whose JSON is wrong, and slot files that are not slots at all, both in every slot.
    @Test(arguments: [
        (content: "", asFile: false), (content: "{\"id\": ", asFile: false),
        (content: "garbage\u{0}\u{1}", asFile: false),
        (content: "{\"format_version\": \"one\"}", asFile: false), (content: "[]", asFile: false),
        (content: "", asFile: true), (content: "{\"id\": \"x\"}", asFile: true),
        (content: "stint-metadata 1 generation=9 length=99999 crc32=00000000\n{}", asFile: true),
    ])
    func corruptMetadataShowsUnknownAlone(content: String, asFile: Bool) throws {
        let healthy = makeMetadata(name: "healthy")
        let broken = makeMetadata(name: "broken")
        try install(healthy)
        try install(broken)
        let slots = store.paths(forID: broken.id).metadataSlots
        if asFile {
            for slot in MetadataSlots.fileNames.indices {
                try Data(content.utf8).write(to: URL(fileURLWithPath: slots.path(slot: slot)))
            }
        } else {
            try slots.write(Data(content.utf8))
        }

        let manager = try InstanceManager(
            configuration: ManagerConfiguration(dataDirectory: directory, stintExecutable: "/bin/false"))
        let statuses = manager.list()
        #expect(statuses.count == 2)
        let brokenStatus = try #require(statuses.first { $0.id == broken.id })
        #expect(brokenStatus.state == .unknown)
        #expect(brokenStatus.stateError?.contains(slots.directory) == true)
        let healthyStatus = try #require(statuses.first { $0.id == healthy.id })
        #expect(healthyStatus.state == .created)
        #expect(healthyStatus.phases?.currentPhase == .created)
        #expect(throws: InstancesError.self) { try manager.start(broken.id) }
    }

    @Test func newerFormatIsRejectedWithAdvice() throws {
        let metadata = makeMetadata(name: "future")
        try install(metadata)
        let slots = store.paths(forID: metadata.id).metadataSlots
        let text = String(decoding: try slots.readCurrent().body, as: UTF8.self)
            .replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 99")
        try slots.write(Data(text.utf8))
        do {
            _ = try store.loadMetadata(id: metadata.id)
            Issue.record("newer format accepted")
        } catch let error as InstancesError {
            #expect(error.code == .corrupt)
            #expect(error.message.contains("upgrade Stint"))
        }
    }

    @Test func namesResolveAndIDsWin() throws {
        let metadata = makeMetadata(name: "lookup")
        try install(metadata)
        #expect(try store.resolve("lookup") == metadata.id)
        #expect(try store.resolve(metadata.id) == metadata.id)
        #expect(throws: InstancesError.self) { try store.resolve("../lookup") }
        #expect(throws: InstancesError.self) { try store.resolve("missing") }
    }
}
