import Foundation
import Testing

/// A guest that floods its console cannot fill the disk: the serial log rotates at its size limit.
@Suite(.serialized) struct SerialLogTests {
    @Test func floodingGuestRotatesSerialLog() throws {
        let stint = try StintHarness()
        let limit = 65_536
        let process = try stint.launch(["run", "--name", "chatty", "--", "sh", "-c", "while true; do echo flood; done"])
        process.environment?["STINT_SERIAL_LOG_LIMIT_BYTES"] = String(limit)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let id = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let logs = "\(stint.dataDirectory)/instances/\(id)/logs"
        let rotated = stint.waitUntil(timeout: .seconds(60)) {
            FileManager.default.fileExists(atPath: logs + "/serial.log.1")
        }
        #expect(rotated, "serial.log was never rotated")
        for _ in 0..<5 {
            for name in ["serial.log", "serial.log.1"] {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(logs)/\(name)")[.size] as? Int) ?? 0
                #expect(size <= limit, "\(name) is \(size) bytes, over the \(limit)-byte limit")
            }
            usleep(300_000)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: logs).filter { $0.hasPrefix("serial") }
        #expect(Set(files) == ["serial.log", "serial.log.1"])
        try stint.succeed(["rm", "--force", "chatty"])
    }
}
