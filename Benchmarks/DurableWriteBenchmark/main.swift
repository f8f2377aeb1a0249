// Times one transition's durable writes (`InstanceStore.saveMetadata`: a metadata slot plus the journal insert)
// against one fsync'd write of the same metadata bytes, alternating the two in one process.
//
// Usage: DurableWriteBenchmark DATA_DIR ITERATIONS [TEMPLATE_METADATA_JSON]
// Prints one JSON object: {"metadata_bytes": N, "save_metadata_ns": [...], "fsync_write_ns": [...]}.

import Foundation
import Instances
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// A failure of the benchmark itself, printed to standard error before exiting with status 1.
struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
}

/// Describes a failed system call on `path` with the errno text and the next step.
func systemError(_ call: String, _ path: String) -> BenchmarkError {
    let reason = String(cString: strerror(errno))
    return BenchmarkError(
        description: "\(call) '\(path)' failed: \(reason). Check that DATA_DIR exists, is writable and has free space.")
}

/// Returns the monotonic clock in nanoseconds.
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    _ = clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// Writes `data` to `path` (created or truncated, mode 0600) and fsyncs it: the baseline durable write.
func writeAndSync(_ data: Data, to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw systemError("open", path) }
    defer { close(descriptor) }
    try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw systemError("write", path)
            }
            offset += written
        }
    }
    guard fsync(descriptor) == 0 else { throw systemError("fsync", path) }
}

/// Loads the template metadata (a real instance's file) or builds a fresh instance's metadata.
func makeMetadata(id: String, templatePath: String?, clock: SystemClock) throws -> InstanceMetadata {
    guard let templatePath else {
        var metadata = InstanceMetadata(
            id: id, name: "bench-durable", createdAt: clock.now(), memoryMiB: 256, vcpus: 1,
            command: ["sh", "-c", "sleep 600"])
        metadata.transition(to: .created, at: clock.now())
        return metadata
    }
    guard let data = FileManager.default.contents(atPath: templatePath) else {
        throw BenchmarkError(
            description:
                "cannot read template metadata '\(templatePath)'. Pass a readable metadata JSON file or omit it.")
    }
    var metadata = try JSONDecoder().decode(InstanceMetadata.self, from: data)
    metadata.id = id
    metadata.name = "bench-durable"
    metadata.journalOutbox = []
    return metadata
}

func runBenchmark() throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 3, let iterations = Int(arguments[2]), iterations > 0 else {
        throw BenchmarkError(
            description:
                "invalid arguments. Usage: DurableWriteBenchmark DATA_DIR ITERATIONS [TEMPLATE_METADATA_JSON], "
                + "where ITERATIONS is a positive integer.")
    }
    let clock = SystemClock()
    let store = try InstanceStore(dataDirectory: arguments[1])
    let id = String(format: "%016llx", UInt64.random(in: 0...UInt64.max))
    let paths = store.paths(forID: id)
    try FileManager.default.createDirectory(
        atPath: paths.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    var metadata = try makeMetadata(id: id, templatePath: arguments.count > 3 ? arguments[3] : nil, clock: clock)
    // A new instance gets both slots when it is created; every later save overwrites one of them.
    try paths.metadataSlots.create(try JSONEncoder().encode(metadata))

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let baselinePath = paths.directory + "/baseline.json"
    var saveSamples: [Int64] = []
    var baselineSamples: [Int64] = []
    var metadataBytes = 0

    // Alternating running and paused gives every save one transition, as a pause or resume operation does.
    for iteration in 0..<iterations {
        metadata.transition(to: iteration % 2 == 0 ? .running : .paused, at: clock.now())
        let bytes = try encoder.encode(metadata)
        metadataBytes = bytes.count

        let saveStart = monotonicNanoseconds()
        try store.saveMetadata(&metadata)
        saveSamples.append(monotonicNanoseconds() - saveStart)

        let baselineStart = monotonicNanoseconds()
        try writeAndSync(bytes, to: baselinePath)
        baselineSamples.append(monotonicNanoseconds() - baselineStart)
    }

    let report: [String: Any] = [
        "metadata_bytes": metadataBytes, "save_metadata_ns": saveSamples, "fsync_write_ns": baselineSamples,
    ]
    let output = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    FileHandle.standardOutput.write(output)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

do {
    try runBenchmark()
} catch {
    FileHandle.standardError.write(Data("DurableWriteBenchmark: \(error)\n".utf8))
    exit(1)
}
