import Foundation
import Glibc
import Testing

@testable import Hypervisor

extension QEMUGuestTests {
    @Suite struct QEMUMachineTests {
        @Test func statusPauseResumeAndEvents() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            #expect(try machine.status() == "running")
            try machine.pause()
            #expect(try machine.status() == "paused")
            try machine.pause()
            try machine.resume()
            #expect(try machine.status() == "running")

            // QEMU sends STOP and RESUME before the replies to stop and cont, so the client has queued them.
            let events = try (0..<3).compactMap { _ in
                try machine.client.nextEvent(timeout: .seconds(1))?["event"]?.string
            }
            #expect(events == ["STOP", "RESUME"])
            let timestamp = try #require(try machine.client.execute("query-status")["status"])
            #expect(timestamp.string == "running")
        }

        @Test func eventCarriesTimestamp() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            let before = Int(Date().timeIntervalSince1970)
            try machine.pause()
            let stop = try #require(try machine.client.waitForEvent(named: "STOP", timeout: .seconds(5)))
            let seconds = try #require(stop["timestamp"]?["seconds"]?.int)
            #expect(seconds >= before - 1)
            #expect(seconds <= before + 5)
            #expect(stop["timestamp"]?["microseconds"]?.int != nil)
        }

        @Test func unknownCommandThrows() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            do {
                try machine.client.execute("stint-no-such-command")
                Issue.record("execute returned for an unknown command")
            } catch let error as HypervisorError {
                #expect(error.code == .commandFailed)
                #expect(error.qmpErrorClass == "CommandNotFound")
            }
            #expect(try machine.status() == "running")
        }

        @Test func quitEndsProcess() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))
            #expect(guest.console.waitForLine(timeout: .seconds(60)) { $0 == "tick 1" } != nil, "\(guest.log)")

            try machine.quit()
            #expect(machine.waitForExit(timeout: .seconds(10)))
            let status = try #require(guest.waitForExit(timeout: .seconds(10)))
            #expect(exitCode(ofWaitStatus: status) == 0)
            #expect {
                try machine.status()
            } throws: { error in
                (error as? HypervisorError)?.code == .disconnected
            }
        }

        @Test func waitForExitTimesOutWhileRunning() throws {
            let directory = try TemporaryDirectory()
            let guest = try TestGuest(config: try testMachineConfig(in: directory), directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            #expect(!machine.waitForExit(timeout: .milliseconds(300)))
            #expect(try machine.status() == "running")
        }

        @Test func guestPowerOffExitsQEMU() throws {
            let directory = try TemporaryDirectory()
            let config = try testMachineConfig(in: directory, extraCommandLine: "poweroff_at=3")
            let guest = try TestGuest(config: config, directory: directory, name: "vm")
            let machine = try QEMUMachine(qmpSocketPath: guest.qmpSocketPath, connectTimeout: .seconds(10))

            let shutdown = try machine.client.waitForEvent(named: "SHUTDOWN", timeout: .seconds(90))
            #expect(shutdown?["data"]?["guest"]?.bool == true, "\(guest.console.lines) \(guest.log)")
            #expect(machine.waitForExit(timeout: .seconds(10)))
            let status = try #require(guest.waitForExit(timeout: .seconds(10)))
            #expect(exitCode(ofWaitStatus: status) == 0)
            #expect(guest.console.lines.contains("tick 3"))
            #expect(!guest.console.lines.contains("tick 4"))
        }
    }
}
