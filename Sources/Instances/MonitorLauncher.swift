import Foundation
import Hypervisor

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the monitor process of one hypervisor launch and waits for its report that QEMU is running.
///
/// The monitor runs `stint monitor` in a new session, so it outlives the command that started it. It reports on
/// descriptor 3 one line: `started PID START_TIME` or `failed MESSAGE`.
struct MonitorLauncher {
    var configuration: ManagerConfiguration

    func launch(
        id: String, paths: InstancePaths, generation: Int, machine: MachineConfig, incomingImage: String?
    ) throws -> ProcessRecord {
        try FileManager.default.createDirectory(atPath: paths.logs, withIntermediateDirectories: true)
        guard paths.qmpSocket.utf8.count <= 107 else {
            throw InstancesError.invalid(
                "socket path '\(paths.qmpSocket)' is longer than the 107 bytes Unix sockets allow; use a shorter --data-dir"
            )
        }

        let machineJSON = String(decoding: try JSONEncoder().encode(machine), as: UTF8.self)
        var arguments = [
            "monitor", "--data-dir", configuration.dataDirectory, "--id", id, "--generation", String(generation),
            "--qemu", configuration.qemuExecutable, "--machine", machineJSON,
        ]
        if let incomingImage {
            arguments += ["--incoming", incomingImage]
        }

        guard let reportEnds = makeClosingPipe() else {
            throw InstancesError.failed("creating a pipe for the monitor failed: \(String(cString: strerror(errno)))")
        }
        let reportPipe = [reportEnds.read, reportEnds.write]
        defer { close(reportPipe[0]) }
        let nullDevice = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let logDescriptor = open(paths.monitorLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer {
            if nullDevice >= 0 { close(nullDevice) }
            if logDescriptor >= 0 { close(logDescriptor) }
        }
        guard nullDevice >= 0, logDescriptor >= 0 else {
            close(reportPipe[1])
            throw DurableFile.systemError("open", paths.monitorLog)
        }

        let monitorPID: pid_t
        do {
            monitorPID = try ProcessSpawner.spawn(
                SpawnRequest(
                    executable: configuration.monitorExecutable, arguments: arguments,
                    environment: FaultPoint.monitorEnvironment(),
                    descriptors: [0: nullDevice, 1: logDescriptor, 2: logDescriptor, 3: reportPipe[1]],
                    newSession: true))
        } catch {
            close(reportPipe[1])
            throw InstancesError.failed("starting the monitor '\(configuration.monitorExecutable)'", error)
        }
        close(reportPipe[1])
        let monitorStartTime = ProcessInspector.startTime(of: monitorPID)

        let report = readLine(from: reportPipe[0], timeout: .seconds(30))
        let words = report.split(separator: " ", maxSplits: 2).map(String.init)
        guard words.first == "started", words.count == 3, let hypervisorPID = Int32(words[1]) else {
            let reason = report.hasPrefix("failed ") ? String(report.dropFirst(7)) : "no report from the monitor"
            kill(monitorPID, SIGKILL)
            throw InstancesError.failed(
                "starting QEMU for instance '\(id)' failed: \(reason); see \(paths.monitorLog) and \(paths.hypervisorLog)"
            )
        }
        return ProcessRecord(
            monitorPID: monitorPID, monitorStartTime: monitorStartTime, hypervisorPID: hypervisorPID,
            hypervisorStartTime: UInt64(words[2]), machine: machine)
    }

    /// Reads one line (without the newline) or whatever arrived before EOF or the timeout.
    private func readLine(from descriptor: Int32, timeout: Duration) -> String {
        var bytes: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 256)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0, errno != EINTR { break }
            guard ready > 0 else { continue }
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
            if let newline = bytes.firstIndex(of: 10) {
                return String(decoding: bytes[..<newline], as: UTF8.self)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
