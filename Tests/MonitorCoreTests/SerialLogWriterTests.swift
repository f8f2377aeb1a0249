import Foundation
import PhaseTracking
import StintTestSupport
import Testing

@testable import MonitorCore

/// Console bytes become host-timestamped lines in the serial log, which rotates at its size limit.
@Suite struct SerialLogWriterTests {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-serial-log")
    }

    static let instant = HostInstant(wallNanoseconds: 1_772_445_600_000_000_123, bootNanoseconds: 5, bootID: "b")

    @Test func splitterHandlesLineEndings() {
        var splitter = SerialLineSplitter()
        #expect(splitter.append(ArraySlice(Array("one\r\ntwo\nthr".utf8))) == ["one", "two"])
        #expect(splitter.append(ArraySlice(Array("ee\r".utf8))) == [])
        #expect(splitter.append(ArraySlice(Array("\n\n\r\r\n".utf8))) == ["three", "", "\r"])
        #expect(splitter.takeRemainder() == nil)
    }

    @Test func splitterKeepsUnterminatedRemainder() {
        var splitter = SerialLineSplitter()
        #expect(splitter.append(ArraySlice(Array("done\nlast words".utf8))) == ["done"])
        #expect(splitter.takeRemainder() == "last words")
        #expect(splitter.takeRemainder() == nil)
    }

    @Test func splitterCutsOverlongOutput() {
        var splitter = SerialLineSplitter(maximumLineBytes: 4)
        #expect(splitter.append(ArraySlice(Array("abcdefghij".utf8))) == ["abcd", "efgh"])
        #expect(splitter.append(ArraySlice(Array("k\nxyz".utf8))) == ["ijk"])
        #expect(splitter.takeRemainder() == "xyz")

        // A guest that never prints a newline leaves at most one line's worth of bytes pending.
        var flooded = SerialLineSplitter(maximumLineBytes: 1024)
        var emitted = 0
        for _ in 0..<1000 {
            emitted += flooded.append(ArraySlice(repeating: UInt8(ascii: "y"), count: 4096)).count
        }
        #expect(emitted == 4000)
        #expect(flooded.takeRemainder() == nil)
    }

    @Test func splitterReplacesInvalidUTF8() {
        var splitter = SerialLineSplitter()
        #expect(splitter.append([0x61, 0xFF, 0x62, 0x0A]) == ["a\u{FFFD}b"])
    }

    @Test func entryHasTimestampTextAndNewline() {
        #expect(
            SerialLogWriter.entry("hello world", at: Self.instant) == "2026-03-02T10:00:00.000000123Z hello world\n")
    }

    @Test func writerAppendsToExistingLog() throws {
        let path = directory + "/serial.log"
        try "earlier\n".write(toFile: path, atomically: false, encoding: .utf8)
        var writer = SerialLogWriter(path: path, limitBytes: 1 << 20, log: MonitorLog(label: "test"))
        writer.append("first", at: Self.instant)
        writer.appendFinal("partial", at: Self.instant)
        writer.close()
        let content = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            content == "earlier\n2026-03-02T10:00:00.000000123Z first\n2026-03-02T10:00:00.000000123Z partial\n")
    }

    @Test func writerRotatesAtLimit() throws {
        let path = directory + "/serial.log"
        let entryBytes = SerialLogWriter.entry("0123456789", at: Self.instant).utf8.count
        var writer = SerialLogWriter(path: path, limitBytes: entryBytes * 3, log: MonitorLog(label: "test"))
        for _ in 0..<7 {
            writer.append("0123456789", at: Self.instant)
        }
        writer.close()
        // Seven entries with room for three per file: three rotated away twice, one left in the current file.
        #expect(try attributes(path)[.size] as? Int == entryBytes)
        #expect(try attributes(path + ".1")[.size] as? Int == entryBytes * 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["serial.log", "serial.log.1"])
    }

    @Test func writerCreatesPrivateFile() throws {
        let path = directory + "/new.log"
        var writer = SerialLogWriter(path: path, limitBytes: 4096, log: MonitorLog(label: "test"))
        writer.append("x", at: Self.instant)
        writer.close()
        #expect(try attributes(path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func logValuesAreQuotedWhenNeeded() {
        #expect(MonitorLog.quote("plain") == "plain")
        #expect(MonitorLog.quote("") == "\"\"")
        #expect(MonitorLog.quote("exit status 0") == "\"exit status 0\"")
        #expect(MonitorLog.quote("a=b") == "\"a=b\"")
        #expect(MonitorLog.quote("say \"hi\"\n") == "\"say \\\"hi\\\"\\n\"")
        #expect(MonitorLog.quote("back\\slash x") == "\"back\\\\slash x\"")
    }

    private func attributes(_ path: String) throws -> [FileAttributeKey: Any] {
        try FileManager.default.attributesOfItem(atPath: path)
    }
}
