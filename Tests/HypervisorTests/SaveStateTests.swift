import Foundation
import Glibc
import ProcessSupport
import Testing

@testable import Hypervisor

extension QEMUGuestTests {
    @Suite struct SaveStateTests {
        @Test func restoredGuestContinuesCounting() throws {
            let directory = try TemporaryDirectory()
            let config = try testMachineConfig(in: directory, memoryMiB: 256)
            let imagePath = directory.file("memory.img")

            let original = try TestGuest(config: config, directory: directory, name: "original")
            let originalMachine = try QEMUMachine(qmpSocketPath: original.qmpSocketPath, connectTimeout: .seconds(10))
            let fifthTick = original.console.waitForLine(timeout: .seconds(90)) { $0 == "tick 5" }
            #expect(fifthTick != nil, "guest did not count to 5: \(original.console.lines) \(original.log)")

            let start = ContinuousClock.now
            try originalMachine.saveState(to: imagePath, timeout: .seconds(60))
            let elapsed = ContinuousClock.now - start
            let imageSize = try #require(try FileManager.default.attributesOfItem(atPath: imagePath)[.size] as? Int)
            print("saveState of a 256 MiB TCG guest took \(elapsed) for an image of \(imageSize) bytes")

            #expect(try originalMachine.status() == "postmigrate")
            #expect(ProcessInspector.isAlive(original.pid, startTime: nil))
            var status = stat()
            #expect(stat(imagePath, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect(imageSize > 0)

            try originalMachine.quit()
            #expect(originalMachine.waitForExit(timeout: .seconds(10)))
            #expect(original.console.waitForEndOfFile(timeout: .seconds(10)))
            let lastTickBefore = try #require(original.console.lines.compactMap(tickNumber).last)

            let restored = try TestGuest(
                config: config, directory: directory, name: "restored", incomingImage: imagePath)
            let restoredMachine = try QEMUMachine(qmpSocketPath: restored.qmpSocketPath, connectTimeout: .seconds(10))
            let restoreStart = ContinuousClock.now
            try restoredMachine.waitForIncomingMigration(timeout: .seconds(60))
            print("Loading that image took \(ContinuousClock.now - restoreStart) after connecting to QMP")
            #expect(try restoredMachine.status() == "paused")
            #expect(restored.console.lines.compactMap(tickNumber).isEmpty, "the guest ran before resume")

            try restoredMachine.resume()
            let firstAfter = restored.console.waitForLine(timeout: .seconds(30)) { tickNumber(in: $0) != nil }
            let firstTickAfter = try #require(firstAfter.flatMap { tickNumber(in: $0.line) }, "\(restored.log)")
            // A line cut in half by the pause ends up split across the two consoles, so the next full line may skip one.
            #expect(firstTickAfter > lastTickBefore)
            #expect(firstTickAfter <= lastTickBefore + 2)
            #expect(!restored.console.lines.contains("guest-init-started"))
        }

        @Test func savedMachineCanResume() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))
            let secondTick = guest.console.waitForLine(timeout: .seconds(90)) { $0 == "tick 2" }
            #expect(secondTick != nil, "guest did not count to 2: \(guest.console.lines) \(guest.log)")

            try machine.saveState(to: directory.file("memory.img"), timeout: .seconds(60))
            let lineCountAfterSave = guest.console.lines.count
            try machine.resume()

            #expect(try machine.status() == "running")
            let nextTick = guest.console.waitForLine(from: lineCountAfterSave, timeout: .seconds(30)) {
                tickNumber(in: $0) != nil
            }
            #expect(nextTick != nil, "guest did not count after resume: \(guest.console.lines)")
        }

        @Test func saveStateRejectsExistingFile() throws {
            let directory = try TemporaryDirectory()
            let imagePath = directory.file("memory.img")
            try Data("keep".utf8).write(to: URL(fileURLWithPath: imagePath))
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            #expect {
                try machine.saveState(to: imagePath, timeout: .seconds(30))
            } throws: { error in
                let error = error as? HypervisorError
                return error?.code == .systemCallFailed && error?.message.contains(imagePath) == true
            }
            #expect(FileManager.default.contents(atPath: imagePath) == Data("keep".utf8))
            // saveState pauses before it opens the file.
            #expect(try machine.status() == "paused")
        }

        @Test func incomingImageFromOtherConfigFails() throws {
            let directory = try TemporaryDirectory()
            let config = try testMachineConfig(in: directory)
            let imagePath = directory.file("memory.img")
            let original = try TestGuest(config: config, directory: directory, name: "original")
            let originalMachine = try QEMUMachine(qmpSocketPath: original.qmpSocketPath, connectTimeout: .seconds(10))
            try originalMachine.saveState(to: imagePath, timeout: .seconds(60))
            original.kill()

            var otherConfig = config
            otherConfig.memoryMiB = 192
            let restored = try TestGuest(
                config: otherConfig, directory: directory, name: "restored", incomingImage: imagePath)
            // QEMU may reject the image before it replies on QMP, so the error can come from either step.
            #expect {
                let restoredMachine = try QEMUMachine(
                    qmpSocketPath: restored.qmpSocketPath, connectTimeout: .seconds(10))
                try restoredMachine.waitForIncomingMigration(timeout: .seconds(30))
            } throws: { error in
                let code = (error as? HypervisorError)?.code
                return code == .migrationFailed || code == .disconnected
            }
            let status = try #require(restored.waitForExit(timeout: .seconds(10)))
            #expect(exitCode(ofWaitStatus: status) != 0)
            #expect(restored.log.contains("load of migration failed"), "\(restored.log)")
        }
    }
}
