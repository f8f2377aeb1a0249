import Foundation
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// The two checksummed slots that hold an instance's metadata: alternation, sizes, and what a reader does with a
/// slot that a crash left half written.
@Suite struct MetadataSlotsTests {
    let temporary: TemporaryDirectory
    let slots: MetadataSlots

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-slots")
        slots = MetadataSlots(directory: temporary.path)
    }

    func bytes(slot: Int) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: slots.path(slot: slot)))
    }

    func body(_ text: String) -> Data { Data(text.utf8) }

    @Test func checksumMatchesZlib() {
        #expect(CRC32.update(0, Array("123456789".utf8)) == 0xCBF4_3926)
        let slot = String(decoding: MetadataSlots.encode(body("{}"), generation: 1), as: UTF8.self)
        #expect(slot == "stint-metadata 1 generation=1 length=2 crc32=9b6b586f\n{}\n")
    }

    @Test func writesAlternateAndRaiseTheGeneration() throws {
        try slots.create(body("{\"v\": 1}"))
        #expect(try bytes(slot: 0) == bytes(slot: 1))
        #expect(try slots.readCurrent().generation == 1)

        for version in 2...5 {
            try slots.write(body("{\"v\": \(version)}"))
            let current = try slots.readCurrent()
            #expect(current.generation == UInt64(version))
            #expect(current.slot == (version % 2 == 0 ? 1 : 0))
            #expect(current.body == body("{\"v\": \(version)}"))
        }
        for slot in MetadataSlots.fileNames.indices {
            let attributes = try FileManager.default.attributesOfItem(atPath: slots.path(slot: slot))
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect((attributes[.size] as? NSNumber)?.intValue == MetadataSlots.allocationUnit)
        }
    }

    @Test func slotsGrowByWholeUnitsAndNeverShrink() throws {
        try slots.create(body("{}"))
        let large = body("{\"pad\": \"" + String(repeating: "x", count: 5_000) + "\"}")
        try slots.write(large)
        #expect(try bytes(slot: 1).count == 2 * MetadataSlots.allocationUnit)
        #expect(try slots.readCurrent().body == large)

        try slots.write(body("{}"))
        try slots.write(body("{\"small\": true}"))
        let shrunk = try bytes(slot: 1)
        #expect(shrunk.count == 2 * MetadataSlots.allocationUnit)
        // Padding replaces what the longer version left, so the file contains one document and spaces.
        #expect(!String(decoding: shrunk, as: UTF8.self).contains("xxx"))
        #expect(try slots.readCurrent().body == body("{\"small\": true}"))
    }

    @Test(arguments: ["truncated", "body byte", "header generation", "empty"])
    func damagedNewerSlotFallsBack(damage: String) throws {
        try slots.create(body("{\"v\": 1}"))
        try slots.write(body("{\"v\": 2}"))
        #expect(try slots.readCurrent().slot == 1)
        var newer = try bytes(slot: 1)
        switch damage {
        case "truncated": newer = newer.prefix(40)
        case "body byte": newer[newer.lastIndex(of: UInt8(ascii: "2")) ?? 0] = UInt8(ascii: "3")
        case "header generation": newer[newer.firstIndex(of: UInt8(ascii: "=")).map { $0 + 1 } ?? 0] = UInt8(ascii: "7")
        default: newer = Data()
        }
        try newer.write(to: URL(fileURLWithPath: slots.path(slot: 1)))

        let current = try slots.readCurrent()
        #expect(current.generation == 1)
        #expect(current.body == body("{\"v\": 1}"))

        // The next write goes into the damaged slot and leaves the only good one alone.
        let good = try bytes(slot: 0)
        try slots.write(body("{\"v\": 3}"))
        #expect(try bytes(slot: 0) == good)
        #expect(try slots.readCurrent().generation == 2)
        #expect(try slots.readCurrent().body == body("{\"v\": 3}"))
    }

    @Test func noCompleteSlotNamesBothFiles() throws {
        #expect(!slots.exist)
        #expect(throws: InstancesError.self) { try slots.readCurrent() }
        try slots.create(body("{}"))
        #expect(slots.exist)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: slots.path(slot: 0)))
        try Data().write(to: URL(fileURLWithPath: slots.path(slot: 1)))
        do {
            _ = try slots.readCurrent()
            Issue.record("damaged slots were read")
        } catch let error as InstancesError {
            #expect(error.code == .corrupt)
            #expect(error.message.contains(slots.path(slot: 0)))
            #expect(error.message.contains("header line"))
            #expect(error.message.contains(slots.path(slot: 1)))
            #expect(error.message.contains("is empty"))
            #expect(error.message.contains("stint doctor"))
        }
    }

    @Test func oversizedSlotIsRewrittenSmall() throws {
        try slots.create(body("{\"v\": 1}"))
        try slots.write(body("{\"v\": 2}"))
        #expect(truncate(slots.path(slot: 0), off_t(MetadataSlots.maximumFileSize + 1)) == 0)
        #expect(try slots.readCurrent().generation == 2)
        #expect(slots.problems().map(\.isRewrittenBySave) == [true])

        try slots.write(body("{\"v\": 3}"))
        #expect(try slots.readCurrent().generation == 3)
        #expect(try bytes(slot: 0).count == MetadataSlots.allocationUnit)
        #expect(slots.problems().isEmpty)
    }

    @Test(arguments: ["symbolic link", "directory"])
    func irregularSlotIsNeverWrittenThrough(kind: String) throws {
        let other = try TemporaryDirectory(prefix: "stint-slots-other")
        let otherSlots = MetadataSlots(directory: other.path)
        try otherSlots.create(body("{\"other\": true}"))
        let otherBytes = try Data(contentsOf: URL(fileURLWithPath: otherSlots.path(slot: 0)))

        try slots.create(body("{\"v\": 1}"))
        try slots.write(body("{\"v\": 2}"))
        unlink(slots.path(slot: 0))
        if kind == "symbolic link" {
            #expect(symlink(otherSlots.path(slot: 0), slots.path(slot: 0)) == 0)
        } else {
            #expect(mkdir(slots.path(slot: 0), 0o700) == 0)
        }
        #expect(try slots.readCurrent().body == body("{\"v\": 2}"))
        #expect(slots.problems().map(\.isRewrittenBySave) == [false])

        do {
            try slots.write(body("{\"v\": 3}"))
            Issue.record("a save wrote through a \(kind)")
        } catch let error as InstancesError {
            #expect(error.message.contains(slots.path(slot: 0)))
            #expect(error.message.contains("not a regular file"))
        }
        #expect(try slots.readCurrent().body == body("{\"v\": 2}"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: otherSlots.path(slot: 0))) == otherBytes)
    }

    @Test func generationOutOfRangeIsDamage() throws {
        try slots.create(body("{\"v\": 1}"))
        let crafted = Data(MetadataSlots.encode(body("{\"v\": 9}"), generation: UInt64.max))
        try crafted.write(to: URL(fileURLWithPath: slots.path(slot: 1)))
        #expect(try slots.readCurrent().generation == 1)
        try slots.write(body("{\"v\": 2}"))
        #expect(try slots.readCurrent().generation == 2)
        #expect(try slots.readCurrent().body == body("{\"v\": 2}"))
    }

    @Test func readersSeeWholeVersionsWhileAWriterRuns() async throws {
        try slots.create(body("{\"v\": 0}"))
        let slots = self.slots
        let writer = Task.detached {
            for version in 1...300 {
                try slots.write(
                    Data("{\"v\": \(version), \"fill\": \"\(String(repeating: "y", count: version * 9))\"}".utf8))
            }
        }
        var last: UInt64 = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let record = try slots.readCurrent()
            #expect(record.generation >= last)
            last = record.generation
            let object = try JSONSerialization.jsonObject(with: record.body) as? [String: Any]
            #expect((object?["v"] as? Int).map { UInt64($0 + 1) } == record.generation)
            if record.generation == 301 { break }
        }
        try await writer.value
    }
}
