import Foundation
import Testing

@testable import GuestImage

@Suite struct NewcArchiveTests {
    static let entries = [
        NewcEntry(path: "bin", permissions: 0o755, kind: .directory),
        NewcEntry(path: "tmp", permissions: 0o1777, kind: .directory),
        NewcEntry(path: "bin/tool", permissions: 0o755, kind: .regularFile(Data("#!/bin/sh\necho hi\n".utf8))),
        NewcEntry(path: "bin/one-byte", permissions: 0o644, kind: .regularFile(Data([0x41]))),
        NewcEntry(path: "bin/empty", permissions: 0o600, kind: .regularFile(Data())),
        NewcEntry(path: "bin/sh", permissions: 0o777, kind: .symbolicLink(target: "tool")),
        NewcEntry(path: "dev/console", permissions: 0o600, kind: .characterDevice(major: 5, minor: 1)),
        NewcEntry(path: "ünïcødé name", permissions: 0o644, kind: .regularFile(Data("x".utf8))),
    ]

    @Test func parsedMembersMatchEntries() throws {
        let archive = NewcArchive.archive(Self.entries)
        #expect(archive.count % 4 == 0)

        let members = try NewcParser.parse(archive)
        #expect(members.map(\.path) == Self.entries.map(\.path))
        #expect(members[0].mode == 0o040755)
        #expect(members[0].linkCount == 2)
        #expect(members[1].mode == 0o041777)
        #expect(members[2].mode == 0o100755)
        #expect(members[2].contents == Data("#!/bin/sh\necho hi\n".utf8))
        #expect(members[3].contents == Data([0x41]))
        #expect(members[4].contents.isEmpty)
        #expect(members[5].mode == 0o120777)
        #expect(members[5].contents == Data("tool".utf8))
        #expect(members[6].mode == 0o020600)
        #expect(members[6].rdevMajor == 5)
        #expect(members[6].rdevMinor == 1)
        #expect(members[7].contents == Data("x".utf8))
    }

    @Test func cpioToolListsSameMembers() throws {
        let archivePath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "stint-newc-\(UUID().uuidString).cpio"
        ).path
        try NewcArchive.archive(Self.entries).write(to: URL(fileURLWithPath: archivePath))
        defer { try? FileManager.default.removeItem(atPath: archivePath) }

        let cpio = "/usr/bin/cpio"
        try #require(
            FileManager.default.isExecutableFile(atPath: cpio),
            "cpio is not installed at \(cpio); install Debian's cpio package")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cpio)
        process.arguments = ["-t", "--quiet", "-F", archivePath]
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let listing = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 0, "cpio -t failed: \(errorText)")
        #expect(listing.split(separator: "\n").map(String.init) == Self.entries.map(\.path))
    }

    @Test func sameEntriesGiveSameBytes() {
        #expect(NewcArchive.archive(Self.entries) == NewcArchive.archive(Self.entries))
    }
}
