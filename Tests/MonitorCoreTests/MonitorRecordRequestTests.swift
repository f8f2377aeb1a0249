import PhaseTracking
import Testing

@testable import MonitorCore

/// The monitor writes the recorder's command line and `stint monitor-record` reads it back.
@Suite struct MonitorRecordRequestTests {
    static let instant = HostInstant(
        wallNanoseconds: 1_772_445_600_123_456_789, bootNanoseconds: 98_765_432_100, bootID: "4f1c-boot")

    static func request(_ event: MonitorRecordRequest.Event) -> MonitorRecordRequest {
        MonitorRecordRequest(
            dataDirectory: "/data dir", instanceID: "0123456789abcdef", generation: 3, hypervisorPID: 4242,
            event: event)
    }

    @Test func everyKindRoundTrips() throws {
        let events: [MonitorRecordRequest.Event] = [
            .launch, .bootMarker(name: "programStarted", at: Self.instant),
            .exit(waitStatus: 9, at: Self.instant.adding(nanoseconds: 1)),
        ]
        for event in events {
            let request = Self.request(event)
            let commandLine = request.commandLine
            #expect(commandLine.first == "monitor-record")
            #expect(try MonitorRecordRequest(parsing: Array(commandLine.dropFirst())) == request)
        }
    }

    @Test func exitCarriesInstantExactly() {
        let commandLine = Self.request(.exit(waitStatus: 256, at: Self.instant)).commandLine
        #expect(commandLine.contains("1772445600123456789"))
        #expect(commandLine.contains("98765432100"))
        #expect(commandLine.contains("4f1c-boot"))
        #expect(commandLine.contains("256"))
    }

    @Test func unknownKindIsRejected() {
        var commandLine = Array(Self.request(.launch).commandLine.dropFirst())
        commandLine[0] = "reboot"
        #expect(throws: MonitorError.self) { try MonitorRecordRequest(parsing: commandLine) }
    }

    @Test func bootMarkerWithoutInstantIsRejected() {
        let commandLine = Array(Self.request(.bootMarker(name: "agentReady", at: Self.instant)).commandLine.dropFirst())
        let index = commandLine.firstIndex(of: "--boot-ns") ?? 0
        var shortened = commandLine
        shortened.removeSubrange(index...(index + 1))
        #expect(throws: MonitorError.self) { try MonitorRecordRequest(parsing: shortened) }
    }

    @Test func waitStatusIsDescribed() {
        #expect(WaitStatus.describe(0) == "exit status 0")
        #expect(WaitStatus.describe(3 << 8) == "exit status 3")
        #expect(WaitStatus.describe(9) == "killed by signal 9")
        #expect(WaitStatus.describe(15 | 0x80) == "killed by signal 15")
    }
}
