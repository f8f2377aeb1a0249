import Testing

@testable import GuestImage

@Suite struct BootMarkerTests {
    @Test func markersParseFromTheirLines() {
        for marker in BootMarker.allCases {
            #expect(BootMarker.parse(marker.line) == marker)
            #expect(BootMarker.parse(marker.line + "\r") == marker)
            #expect(BootMarker.parse(marker.line + "\r\n") == marker)
        }
    }

    @Test func markerLinesAreDistinct() {
        #expect(Set(BootMarker.allCases.map(\.line)).count == BootMarker.allCases.count)
    }

    @Test func otherLinesAreNotMarkers() {
        #expect(BootMarker.parse("") == nil)
        #expect(BootMarker.parse("agent-ready") == nil)
        #expect(BootMarker.parse("echo " + BootMarker.agentReady.line) == nil)
        #expect(BootMarker.parse(BootMarker.programStarted.line + " trailing") == nil)
    }

    @Test func programExitParses() {
        #expect(ProgramExit.parse("<<stint:program-exited status=0>>\r") == ProgramExit(status: 0))
        #expect(ProgramExit.parse(ProgramExit(status: 143).line) == ProgramExit(status: 143))
        #expect(ProgramExit.parse("partial output<<stint:program-exited status=3>>") == ProgramExit(status: 3))
    }

    @Test func malformedProgramExitIsRejected() {
        #expect(ProgramExit.parse("<<stint:program-exited status=>>") == nil)
        #expect(ProgramExit.parse("<<stint:program-exited status=x1>>") == nil)
        #expect(ProgramExit.parse("<<stint:program-exited status=1>> more") == nil)
        #expect(ProgramExit.parse("status=1") == nil)
    }
}
