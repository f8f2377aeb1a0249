import Foundation
import GuestImage
import Hypervisor
import PhaseTracking
import StintTestSupport
import Testing

@testable import Instances

#if canImport(Glibc)
    import Glibc
#endif

/// The monitor's recorder applies observations only when they still describe the instance.
@Suite struct TransitionRecorderTests {
    let temporary: TemporaryDirectory
    let store: InstanceStore

    init() throws {
        temporary = try TemporaryDirectory(prefix: "stint-recorder")
        store = try InstanceStore(dataDirectory: temporary.path)
    }

    /// An instance of generation 1 whose hypervisor is this test process, so it counts as alive.
    func install(state: Phase, at start: HostInstant) throws -> InstanceMetadata {
        var metadata = InstanceMetadata(
            id: InstanceIdentity.generateID(), name: "observed", createdAt: start, memoryMiB: 256, vcpus: 1,
            command: ["true"])
        metadata.transition(to: .initializing, at: start)
        metadata.generation = 1
        metadata.processes = ProcessRecord(
            monitorPID: getpid(), monitorStartTime: nil, hypervisorPID: getpid(), hypervisorStartTime: nil,
            machine: MachineConfig(
                memoryMiB: 256, vcpus: 1, kernelPath: "/k", initramfsPath: "/i", kernelCommandLine: "",
                acceleration: .tcg))
        if state != .initializing {
            metadata.transition(to: state, at: start.adding(nanoseconds: 5_000_000_000))
        }
        try FileManager.default.createDirectory(
            atPath: store.paths(forID: metadata.id).directory, withIntermediateDirectories: true)
        try store.saveMetadata(&metadata)
        return metadata
    }

    @Test func staleBootMarkerDoesNotReopenRunning() throws {
        let start = SystemClock().now()
        let installed = try install(state: .paused, at: start)
        let recorder = TransitionRecorder(
            store: store, id: installed.id, generation: 1, hypervisorPID: getpid(), log: Logger(label: "test"))

        // Both markers were read before the pause was committed, but reach the recorder after it.
        #expect(recorder.recordMarker(.agentReady, at: start.adding(nanoseconds: 1_000_000_000)))
        #expect(recorder.recordMarker(.programStarted, at: start.adding(nanoseconds: 2_000_000_000)))
        #expect(!recorder.recordMarker(.programStarted, at: start.adding(nanoseconds: 3_000_000_000)))

        let after = try store.loadMetadata(id: installed.id)
        #expect(after.state == .paused)
        #expect(after.phases.currentPhase == .paused)
        #expect(after.phases.since == installed.phases.since)
        #expect(after.phases.transitionCount == installed.phases.transitionCount)
        #expect(after.bootMarkers.completedAt != nil)
    }

    @Test func markersOfOtherGenerationAreIgnored() throws {
        let start = SystemClock().now()
        let installed = try install(state: .initializing, at: start)
        let recorder = TransitionRecorder(
            store: store, id: installed.id, generation: 2, hypervisorPID: getpid(), log: Logger(label: "test"))
        #expect(!recorder.recordMarker(.agentReady, at: start))
        #expect(!recorder.recordMarker(.programStarted, at: start))
        #expect(!recorder.recordExit(at: start.adding(nanoseconds: 1_000_000), status: "exit status 0"))
        let after = try store.loadMetadata(id: installed.id)
        #expect(after.phases == installed.phases)
        #expect(after.bootMarkers == installed.bootMarkers)
        #expect(after.state == .initializing)
        #expect(after.processes == installed.processes)
    }

    @Test func exitIsRecordedAtObservedMoment() throws {
        let start = SystemClock().now()
        let installed = try install(state: .running, at: start)
        let recorder = TransitionRecorder(
            store: store, id: installed.id, generation: 1, hypervisorPID: getpid(), log: Logger(label: "test"))
        let exitMoment = start.adding(nanoseconds: 9_000_000_000)
        #expect(recorder.recordExit(at: exitMoment, status: "exit status 0"))

        let after = try store.loadMetadata(id: installed.id)
        #expect(after.state == .stopped)
        #expect(after.phases.since == exitMoment)
        #expect(after.phases.accruedNanoseconds[.running] == 4_000_000_000)
        #expect(after.lastExit?.source == .monitor)
        #expect(after.processes == nil)
    }

    @Test func standbyLengthIgnoresGuestClock() {
        // Standby at 10:00 and restore at 12:00 host time; whatever the guest's clock says, the tracker uses the host.
        let tenOClock = HostInstant(wallNanoseconds: 1_772_445_600_000_000_000, bootNanoseconds: 100, bootID: "a")
        var tracker = PhaseTracker()
        tracker.record(.running, at: tenOClock.adding(nanoseconds: -60_000_000_000))
        tracker.record(.standby, at: tenOClock)
        tracker.record(.running, at: tenOClock.adding(nanoseconds: 7_200_000_000_000))
        #expect(
            tracker.snapshot(at: tenOClock.adding(nanoseconds: 7_200_000_000_000)).milliseconds(in: .standby)
                == 7_200_000)
    }
}
