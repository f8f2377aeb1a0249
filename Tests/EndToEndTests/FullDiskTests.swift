import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A data directory on a small tmpfs that fills up: writes fail with a clear error, the previous metadata stays
/// intact, and the instance works again once space is freed. Mounting needs root, which the suite runs as.
@Suite(.serialized) struct FullDiskTests {
    /// Mounts a tmpfs of `megabytes` and returns its path.
    static func mountSmallFilesystem(megabytes: Int) throws -> String {
        var template = Array("/tmp/stint-full-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else { throw HarnessError("mkdtemp failed") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path]
        try mount.run()
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else {
            throw HarnessError("mounting a tmpfs at \(path) failed; the full-disk tests need root")
        }
        return path
    }

    static func unmount(_ path: String) {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", path]
        try? umount.run()
        umount.waitUntilExit()
        rmdir(path)
    }

    /// Writes zeros into `path` until the filesystem is full.
    static func fill(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0, count: 65_536)
        while write(descriptor, block, block.count) > 0 {}
        var byte: UInt8 = 0
        while write(descriptor, &byte, 1) > 0 {}
    }

    @Test func fullDiskFailsCleanlyAndRecovers() throws {
        let mountPoint = try Self.mountSmallFilesystem(megabytes: 8)
        defer { Self.unmount(mountPoint) }
        let stint = try StintHarness(dataDirectory: mountPoint + "/data")
        let id = try stint.succeed(["run", "--name", "cramped", "--"] + counterProgram)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        // A memory image of a 256 MiB guest does not fit in 8 MiB: standby fails and the guest keeps running.
        let standby = try stint.run(["standby", "cramped"])
        #expect(standby.exitCode == 1)
        #expect(standby.errorOutput.contains("cramped"))
        let afterStandby = try stint.inspect("cramped")
        #expect(afterStandby.state == "Running", "state \(afterStandby.state): \(afterStandby.stateError ?? "")")
        #expect(!afterStandby.hasSnapshot)

        let filler = mountPoint + "/filler"
        Self.fill(filler)

        // Metadata slots are overwritten in place, so operations go on while their metadata fits in the blocks the
        // slots already have. The journal cannot grow meanwhile, and its entries wait in the metadata. The first
        // operation whose metadata needs another block fails with advice and leaves a legal state.
        var failure: StintHarness.Result?
        for round in 0..<64 {
            let command = round % 2 == 0 ? "pause" : "resume"
            let result = try stint.run([command, "cramped"])
            let state = try stint.inspect("cramped")
            if result.exitCode != 0 {
                failure = result
                #expect(result.exitCode == 1)
                #expect(result.errorOutput.contains("free space"), "message: \(result.errorOutput)")
                #expect(["Running", "Paused"].contains(state.state), "state \(state.state): \(state.stateError ?? "")")
                break
            }
            #expect(state.state == (command == "pause" ? "Paused" : "Running"), "round \(round)")
        }
        #expect(failure != nil, "64 operations on a full disk all succeeded: the metadata never outgrew its slot")

        // With space again, operations work and the journal catches up with every transition, in order.
        unlink(filler)
        if try stint.inspect("cramped").state == "Running" {
            try stint.succeed(["pause", "cramped"])
        }
        #expect(try stint.inspect("cramped").state == "Paused")
        try stint.succeed(["resume", "cramped"])
        let final = try stint.inspect("cramped")
        #expect(final.state == "Running")
        #expect((final.phaseDurationsMilliseconds?["paused"] ?? 0) > 0)
        let phases = try stint.metadata(id)["phases"] as? [String: Any]
        let transitionCount = try #require(phases?["transitions"] as? Int)
        let journal = try stint.succeed(["transitions", "cramped", "--output", "json"])
        let sequences = try journal.split(separator: "\n").map { line in
            let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return entry?["sequence"] as? Int ?? -1
        }
        #expect(sequences == Array(1...transitionCount))
        try stint.succeed(["rm", "--force", "cramped"])
    }
}
