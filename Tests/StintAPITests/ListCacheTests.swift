import Foundation
import HTTPServer
import Instances
import PhaseTracking
import Testing

@testable import StintAPI

#if canImport(Glibc)
    import Glibc
#endif

/// `GET /instances` serves encoded views kept between requests. Each test compares the body with a fresh
/// encoding of `InstanceManager.list()` at the same instant, after changes made through the library and by hand.
@Suite struct ListCacheTests {
    let clock = StoppedClock()
    let fixture: RouterFixture
    var manager: InstanceManager { fixture.manager }

    init() throws {
        fixture = try RouterFixture(clock: clock)
    }

    private func listBody(state: String? = nil) -> String {
        let response = fixture.send("GET", "/instances", query: state.map { ["state": $0] } ?? [:])
        #expect(response.status == 200)
        return response.text
    }

    private func freshBody(state: InstanceState? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let views = manager.list().filter { state == nil || $0.state == state }.map(InstanceView.init)
        return String(decoding: try encoder.encode(views), as: UTF8.self)
    }

    /// Moves an instance to `phase` by rewriting its metadata, the way an operation records a transition.
    private func record(_ phase: Phase, name: String) throws {
        let id = try manager.store.resolve(name)
        var metadata = try manager.store.loadMetadata(id: id)
        _ = metadata.phases.record(phase, at: clock.now())
        metadata.state = phase
        try manager.store.saveMetadata(&metadata)
    }

    private func create(_ name: String) throws {
        _ = try manager.create(
            CreateRequest(name: name, command: ["sh", "-c", "echo \"hi\" >/dev/null"], memoryMiB: 128))
    }

    @Test func matchesFreshEncodingAsTimePasses() throws {
        #expect(listBody() == "[]")
        for name in ["web", "api", "db"] {
            try create(name)
            clock.advance(nanoseconds: 1_000_000_123)
        }
        #expect(listBody() == (try freshBody()))

        try record(.stopped, name: "api")
        try record(.standby, name: "db")
        clock.advance(nanoseconds: 2_500_000_000)
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"stopped\":2500"))
        clock.advance(nanoseconds: 999_999)
        #expect(listBody() == (try freshBody()))
        clock.advance(nanoseconds: 1)
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"stopped\":2501"))
    }

    @Test func filtersByState() throws {
        for name in ["a", "b", "c", "d"] {
            try create(name)
        }
        try record(.stopped, name: "b")
        try record(.standby, name: "c")
        _ = listBody()
        for state in [InstanceState.created, .stopped, .standby, .running] {
            #expect(listBody(state: state.rawValue) == (try freshBody(state: state)), "state \(state)")
        }
    }

    @Test func seesRenamesDeletesAndHandEdits() throws {
        for name in ["one", "two", "three"] {
            try create(name)
        }
        try record(.stopped, name: "two")
        _ = listBody()

        try manager.delete("one", force: false)
        #expect(listBody() == (try freshBody()))
        #expect(!listBody().contains("\"one\""))

        try create("four")
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"four\""))

        // An instance renamed by hand in its metadata moves to its new place in the order.
        let twoID = try manager.store.resolve("two")
        let slots = manager.store.paths(forID: twoID).metadataSlots
        let edited = try #require(
            String(data: try slots.readCurrent().body, encoding: .utf8)?
                .replacingOccurrences(of: "\"name\" : \"two\"", with: "\"name\" : \"aaa\""))
        try slots.write(Data(edited.utf8))
        #expect(listBody() == (try freshBody()))
        #expect(listBody().hasPrefix("[{\"command\""))
        #expect(listBody().contains("\"name\":\"aaa\""))

        // Slots damaged in place show as Unknown with the error, and a new write brings the view back.
        for slot in MetadataSlots.fileNames.indices {
            try Data("{ not json".utf8).write(to: URL(fileURLWithPath: slots.path(slot: slot)))
        }
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"state\":\"Unknown\""))
        try slots.write(Data(edited.utf8))
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"name\":\"aaa\""))

        // Truncation in place raises only a modification event, with no close.
        for slot in MetadataSlots.fileNames.indices {
            #expect(truncate(slots.path(slot: slot), 0) == 0)
        }
        #expect(listBody() == (try freshBody()))
        #expect(listBody().contains("\"state\":\"Unknown\""))
        try slots.write(Data(edited.utf8))
        #expect(listBody() == (try freshBody()))

        // A directory removed by hand disappears from the list.
        let threeID = try manager.store.resolve("three")
        try FileManager.default.removeItem(atPath: manager.store.paths(forID: threeID).directory)
        #expect(listBody() == (try freshBody()))
        #expect(!listBody().contains(threeID))
    }

    @Test func rescansWithoutInotify() throws {
        let cache = InstanceListCache(manager: manager, watchesDirectories: false) { try JSONEncoder.api.encode($0) }
        func cachedBody() -> String { cache.body(state: nil).withBytes { String(decoding: $0, as: UTF8.self) } }
        #expect(cachedBody() == "[]")

        for name in ["web", "api"] {
            try create(name)
        }
        #expect(cachedBody() == (try freshBody()))
        try record(.stopped, name: "web")
        clock.advance(nanoseconds: 3_000_000_000)
        #expect(cachedBody() == (try freshBody()))
        try manager.delete("api", force: false)
        #expect(cachedBody() == (try freshBody()))
        #expect(!cachedBody().contains("\"api\""))
    }

    @Test func keepsUpWithManyChangesBetweenRequests() throws {
        for index in 0..<40 {
            try create(String(format: "vm-%02d", index))
        }
        _ = listBody()
        for index in stride(from: 0, to: 40, by: 3) {
            try record(.stopped, name: String(format: "vm-%02d", index))
        }
        for index in stride(from: 1, to: 40, by: 7) {
            try manager.delete(String(format: "vm-%02d", index), force: false)
        }
        clock.advance(nanoseconds: 7_000_000_000)
        #expect(listBody() == (try freshBody()))
    }
}
