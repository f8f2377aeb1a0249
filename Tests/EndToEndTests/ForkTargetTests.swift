import Foundation
import Instances
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Forks from a source in standby and from a stopped source, into each target they allow.
@Suite(.serialized) struct ForkTargetTests {
    @Test func forkFromStandbyKeepsMemory() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "parked", "--"] + counterProgram)
        sleep(1)
        try stint.succeed(["standby", "parked"])
        let sourceBefore = try stint.inspect("parked")

        #expect(try stint.succeed(["fork", "parked", "--name", "parked-copy"]) == "parked-copy Standby\n")
        let fork = try stint.inspect("parked-copy")
        #expect(fork.hasSnapshot)
        #expect(Set((fork.phaseDurationsMilliseconds ?? [:]).keys).isSubset(of: ["created", "standby"]))
        let source = try stint.inspect("parked")
        #expect(source.state == "Standby")
        #expect(source.hasSnapshot)
        #expect(
            (source.phaseDurationsMilliseconds?["running"] ?? -1)
                == (sourceBefore.phaseDurationsMilliseconds?["running"] ?? 0))

        try stint.succeed(["restore", "parked-copy"])
        #expect(try stint.inspect("parked-copy").state == "Running")
        let forkID = fork.id
        let counted = stint.waitUntil(timeout: .seconds(10)) { !counts(in: stint.serialLog(forkID)).isEmpty }
        #expect(counted)
        #expect((counts(in: stint.serialLog(forkID)).first ?? 0) > 1, "the fork restarted its program")

        try stint.succeed(["restore", "parked"])
        #expect(try stint.inspect("parked").state == "Running")

        #expect(
            try stint.succeed(["fork", "parked", "--name", "parked-cold", "--target", "stopped"])
                == "parked-cold Stopped\n")
        #expect(!(try stint.inspect("parked-cold").hasSnapshot))
    }

    /// A fork of a source in standby hard-links the source's memory image. Restoring or deleting either instance
    /// removes only its own link, so the other still restores from an unchanged image.
    @Test func forkSharesSnapshotImage() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "origin", "--"] + counterProgram)
        sleep(1)
        try stint.succeed(["standby", "origin"])
        try stint.succeed(["fork", "origin", "--name", "twin"])
        let originID = try stint.inspect("origin").id
        let twinID = try stint.inspect("twin").id
        let originImage = try #require(imageFile(stint, originID))
        let twinImage = try #require(imageFile(stint, twinID))
        #expect(twinImage.st_ino == originImage.st_ino, "the fork's image is not a hard link of the source's")
        #expect(originImage.st_nlink == 2)

        // Restoring the fork drops its link and leaves the source's image as it was.
        try stint.succeed(["restore", "twin"])
        #expect(try stint.inspect("twin").state == "Running")
        #expect(imageFile(stint, twinID) == nil)
        // The fork's used snapshot is removed by a background process, so its link may take a moment to go.
        let unshared = stint.waitUntil(timeout: .seconds(10)) { imageFile(stint, originID)?.st_nlink == 1 }
        #expect(unshared, "the fork's link to the image was not removed after its restore")
        let originAfterForkRestore = try #require(imageFile(stint, originID))
        #expect(originAfterForkRestore.st_ino == originImage.st_ino)
        #expect(originAfterForkRestore.st_size == originImage.st_size)
        #expect(originAfterForkRestore.st_mtim.tv_sec == originImage.st_mtim.tv_sec)
        #expect(originAfterForkRestore.st_mtim.tv_nsec == originImage.st_mtim.tv_nsec)

        // Deleting the fork does not touch the source, which then restores and continues its program.
        try stint.succeed(["rm", "--force", "twin"])
        #expect(imageFile(stint, originID)?.st_ino == originImage.st_ino)
        let lastCountBefore = counts(in: stint.serialLog(originID)).last ?? 0
        try stint.succeed(["restore", "origin"])
        #expect(try stint.inspect("origin").state == "Running")
        let continued = stint.waitUntil(timeout: .seconds(10)) {
            (counts(in: stint.serialLog(originID)).last ?? 0) > lastCountBefore
        }
        #expect(continued, "the source did not continue its program after the fork was deleted")

        // The other way round: the source is restored and deleted first, and the fork still restores.
        try stint.succeed(["standby", "origin"])
        try stint.succeed(["fork", "origin", "--name", "late-twin"])
        let lateTwinID = try stint.inspect("late-twin").id
        let lateTwinImage = try #require(imageFile(stint, lateTwinID))
        try stint.succeed(["restore", "origin"])
        try stint.succeed(["rm", "--force", "origin"])
        let alone = stint.waitUntil(timeout: .seconds(10)) { imageFile(stint, lateTwinID)?.st_nlink == 1 }
        #expect(alone, "the source's link to the image was not removed after its restore and deletion")
        let lateTwinAfter = try #require(imageFile(stint, lateTwinID))
        #expect(lateTwinAfter.st_ino == lateTwinImage.st_ino)
        #expect(lateTwinAfter.st_size == lateTwinImage.st_size)
        try stint.succeed(["restore", "late-twin"])
        #expect(try stint.inspect("late-twin").state == "Running")
        let lateCounted = stint.waitUntil(timeout: .seconds(10)) {
            (counts(in: stint.serialLog(lateTwinID)).first ?? 0) > 1
        }
        #expect(lateCounted, "the fork restarted its program instead of continuing from the shared image")
    }

    @Test func forkFromStoppedBootsAfresh() throws {
        let stint = try StintHarness()
        try stint.succeed(["run", "--name", "resting", "--"] + counterProgram)
        try stint.succeed(["stop", "resting", "--timeout", "0"])

        let refused = try stint.run(["fork", "resting", "--name", "resting-standby", "--target", "standby"])
        #expect(refused.exitCode == 64)
        #expect(refused.errorOutput.contains("resting"))
        #expect(try stint.list().count == 1)

        #expect(try stint.succeed(["fork", "resting", "--name", "resting-copy"]) == "resting-copy Stopped\n")
        try stint.succeed(["fork", "resting", "--name", "resting-live", "--target", "running"])
        let live = try stint.inspect("resting-live")
        #expect(["Initializing", "Running"].contains(live.state))
        let running = try stint.waitUntil(timeout: .seconds(60)) {
            try stint.inspect("resting-live").state == "Running"
        }
        #expect(running)
        let liveID = live.id
        let counted = stint.waitUntil(timeout: .seconds(10)) { counts(in: stint.serialLog(liveID)).first == 1 }
        #expect(counted, "a fork of a stopped instance boots its program from the start")
        #expect(try stint.inspect("resting").state == "Stopped")
    }
}

/// Returns `stat` of the instance's memory image, or nil when it has none.
private func imageFile(_ stint: StintHarness, _ id: String) -> stat? {
    var info = stat()
    guard stat("\(stint.dataDirectory)/instances/\(id)/snapshot/memory.img", &info) == 0 else { return nil }
    return info
}
