import Foundation
import Glibc
import ProcessSupport
import Testing

@testable import Hypervisor

@Suite struct ProcessInspectorTests {
    @Test func ownProcessIsAlive() throws {
        let startTime = try #require(ProcessInspector.startTime(of: getpid()))
        #expect(ProcessInspector.isAlive(getpid(), startTime: startTime))
        #expect(ProcessInspector.isAlive(getpid(), startTime: nil))
        #expect(!ProcessInspector.isAlive(getpid(), startTime: startTime + 1))
    }

    @Test func zombieAndReapedProcessAreNotAlive() throws {
        let pid = try ProcessSpawner.spawn(SpawnRequest(executable: "true", arguments: []))
        let startTime = try #require(ProcessInspector.startTime(of: pid))

        // Until it is reaped, the exited child stays a zombie with its /proc entry.
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while ProcessInspector.isAlive(pid, startTime: nil) && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        #expect(!ProcessInspector.isAlive(pid, startTime: startTime))
        #expect(ProcessInspector.startTime(of: pid) == startTime)

        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(ProcessInspector.startTime(of: pid) == nil)
        #expect(!ProcessInspector.isAlive(pid, startTime: nil))
    }

    @Test func invalidPidHasNoStartTime() {
        #expect(ProcessInspector.startTime(of: 0) == nil)
        #expect(ProcessInspector.startTime(of: -1) == nil)
    }
}
