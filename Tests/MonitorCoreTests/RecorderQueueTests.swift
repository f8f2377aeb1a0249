import Foundation
import PhaseTracking
import Testing

@testable import MonitorCore

/// The monitor's recorder runs `stint monitor-record` children; these tests replace stint with a script.
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

    @Test func failedRecorderRunsAgain() throws {
        let (script, count) = try makeRecorder(failures: 1)
        let queue = RecorderQueue(stintExecutable: script, log: MonitorLog(label: "test"))
        #expect(queue.start() == 0)
        queue.enqueue(marker)
        queue.drain()
        #expect(runs(count) == 2)
    }

    @Test func successfulRecorderRunsOnce() throws {
        let (script, count) = try makeRecorder(failures: 0)
        let queue = RecorderQueue(stintExecutable: script, log: MonitorLog(label: "test"))
        #expect(queue.start() == 0)
        queue.enqueue(marker)
        queue.drain()
        #expect(runs(count) == 1)
    }

    @Test func attemptsStopAfterTheLastDelay() throws {
        let (script, count) = try makeRecorder(failures: 100)
        let queue = RecorderQueue(stintExecutable: script, log: MonitorLog(label: "test"))
        #expect(queue.start() == 0)
        queue.enqueue(marker)
        queue.drain()
        #expect(runs(count) == RecorderQueue.retryDelaysMilliseconds.count + 1)
    }
}
