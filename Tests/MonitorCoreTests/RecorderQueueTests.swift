import Foundation
import PhaseTracking
import Testing

@testable import MonitorCore

/// Tests of the monitor's recorder queue, with a script in place of `stint monitor-record`.
@Suite struct RecorderQueueTests {
    /// Writes a script that appends one line per run to a count file and fails its first `failures` runs.
    private func makeRecorder(failures: Int) throws -> (script: String, count: String) {
        let directory = NSTemporaryDirectory() + "recorder-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let count = directory + "/runs"
        let script = directory + "/fake-stint"
        try """
        #!/bin/sh
        echo run >> '\(count)'
        [ "$(wc -l < '\(count)')" -gt \(failures) ]
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        return (script, count)
    }

    private func runs(_ count: String) -> Int {
        ((try? String(contentsOfFile: count, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    private let marker = MonitorRecordRequest(
        dataDirectory: "/tmp/unused", instanceID: "0123456789abcdef", generation: 1, hypervisorPID: 4242,
        event: .bootMarker(name: "program", at: HostInstant(wallNanoseconds: 1, bootNanoseconds: 1, bootID: "b")))

    /// Queues one boot marker for a fake stint that fails its first `failures` runs, and returns how often it ran.
    private func runsForOneMarker(failures: Int) throws -> Int {
        let (script, count) = try makeRecorder(failures: failures)
        let queue = RecorderQueue(stintExecutable: script, log: MonitorLog(label: "test"))
        #expect(queue.start() == 0)
        queue.enqueue(marker)
        queue.drain()
        return runs(count)
    }

    @Test func failedRecorderRunsAgain() throws {
        #expect(try runsForOneMarker(failures: 1) == 2)
    }

    @Test func successfulRecorderRunsOnce() throws {
        #expect(try runsForOneMarker(failures: 0) == 1)
    }

    @Test func attemptsStopAfterTheLastDelay() throws {
        #expect(try runsForOneMarker(failures: 100) == RecorderQueue.retryDelaysMilliseconds.count + 1)
    }
}
