import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Each guest's monitor is the small `stint-monitor` executable, and it still records the boot and the exit.
@Suite(.serialized) struct MonitorProcessTests {
    @Test func monitorRecordsBootAndExit() throws {
        let stint = try StintHarness()
        let id = try stint.succeed(["run", "--name", "watched", "--", "sh", "-c", "echo monitored-line; sleep 4"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try stint.inspect(id).state == "Running")
        let metadata = try stint.metadata(id)
        let processes = try #require(metadata["processes"] as? [String: Any])
        let monitorPID = try #require(processes["monitor_pid"] as? Int)

        // The process is the static executable, without the shared libraries of the full stint.
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitorPID)/exe")
        #expect(executable.hasSuffix("/stint-monitor"), "monitor \(monitorPID) runs \(executable)")
        let maps = try String(contentsOfFile: "/proc/\(monitorPID)/maps", encoding: .utf8)
        for library in ["libFoundation", "libswiftCore", "libsqlite3", "libmicrohttpd"] {
            #expect(!maps.contains(library), "monitor \(monitorPID) maps \(library)")
        }
        // The monitor that linked Foundation took about 26 MiB. This one measured about 5.5 MiB in a debug build.
        let residentKiB = try residentSetKiB(of: monitorPID)
        #expect(residentKiB < 8 * 1024, "monitor \(monitorPID) has VmRSS \(residentKiB) KiB")

        // `stint run` returned once the monitor's recorder saved both boot markers.
        let markers = try #require(metadata["boot_markers"] as? [String: Any])
        #expect(markers["agent_ready_at"] != nil)
        #expect(markers["program_started_at"] != nil)

        // The guest's program ends, the guest powers off, and the monitor records QEMU's exit.
        let stopped = try stint.waitUntil(timeout: .seconds(60)) { try stint.inspect(id).state == "Stopped" }
        #expect(stopped, "instance did not stop after its program ended")
        let lastExit = try #require(try stint.metadata(id)["last_exit"] as? [String: Any])
        #expect(lastExit["source"] as? String == "monitor")
        #expect(lastExit["status"] as? String == "exit status 0")
        #expect(lastExit["estimated"] as? Bool == false)

        let monitorEnded = stint.waitUntil(timeout: .seconds(10)) { !isRunning(pid_t(monitorPID)) }
        #expect(monitorEnded, "monitor \(monitorPID) still runs after recording the exit")

        let lines = stint.serialLog(id).split(separator: "\n")
        let entry = try #require(lines.first { $0.hasSuffix(" monitored-line") }, "no program output in serial log")
        #expect(entry.count == "2026-01-01T00:00:00.000000000Z monitored-line".count, "entry '\(entry)'")
        #expect(entry.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z monitored-line/) != nil)
    }

    @Test func missingMonitorExecutableIsNamed() throws {
        let stint = try StintHarness()
        // A copy of stint in a directory without stint-monitor. A symbolic link would not do, because stint finds
        // its own directory through /proc/self/exe, which resolves links.
        let lonelyDirectory = stint.dataDirectory + "/lonely-bin"
        try FileManager.default.createDirectory(atPath: lonelyDirectory, withIntermediateDirectories: true)
        let lonelyStint = lonelyDirectory + "/stint"
        try FileManager.default.copyItem(atPath: stint.binary, toPath: lonelyStint)
        defer { try? FileManager.default.removeItem(atPath: lonelyDirectory) }

        let process = try stint.launch(["run", "--name", "lonely", "--", "true"])
        process.executableURL = URL(fileURLWithPath: lonelyStint)
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationStatus == 1)
        #expect(message.contains("'\(lonelyDirectory)/stint-monitor'"), "message: \(message)")
        #expect(message.contains("build all products"), "message: \(message)")
    }

    private func residentSetKiB(of pid: Int) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? ""))
    }

    /// Returns whether `pid` exists and is not a zombie.
    private func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let closing = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: closing)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }
}
