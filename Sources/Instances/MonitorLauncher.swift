import Foundation
import GuestImage
import Hypervisor
import MonitorCore
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Starts the monitor process of one hypervisor launch and waits for its report that QEMU is running.
///
/// The monitor is the `stint-monitor` executable, run in a new session so it outlives the command that started it.
/// This side computes everything it needs (paths, the QEMU argument vector, the boot marker lines), so the monitor
/// reads no metadata. It reports on descriptor 3 one line: `started PID START_TIME` or `failed MESSAGE`.
struct MonitorLauncher {
    var configuration: ManagerConfiguration

    /// The size at which the serial log is rotated to `serial.log.1`, so a guest flooding its console cannot fill the
    /// disk: 16 MiB, or `STINT_SERIAL_LOG_LIMIT_BYTES` (at least 4096) from the environment of the command that
    /// starts the instance. At most two files of this size exist per instance.
    static let serialLogLimitBytes: Int = {
        if let text = ProcessInfo.processInfo.environment["STINT_SERIAL_LOG_LIMIT_BYTES"], let value = Int(text),
            value >= 4096
        {
            return value
        }
        return 16 * 1024 * 1024
    }()

    func launch(
        id: String, paths: InstancePaths, generation: Int, machine: MachineConfig, incomingImage: String?
    ) throws -> ProcessRecord {
        try FileManager.default.createDirectory(atPath: paths.logs, withIntermediateDirectories: true)
        guard paths.qmpSocket.utf8.count <= 107 else {
            throw InstancesError.invalid(
                "socket path '\(paths.qmpSocket)' is longer than the 107 bytes Unix sockets allow; use a shorter --data-dir"
            )
        }
        let monitorArguments = try makeMonitorArguments(
            id: id, paths: paths, generation: generation, machine: machine, incomingImage: incomingImage)
        // A socket left by an earlier launch would make QEMU fail to bind.
        unlink(paths.qmpSocket)

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
                    executable: configuration.monitorExecutable, arguments: monitorArguments.commandLine,
                    environment: FaultPoint.monitorEnvironment(),
                    descriptors: [0: nullDevice, 1: logDescriptor, 2: logDescriptor, 3: reportPipe[1]],
                    newSession: true))
        } catch {
            close(reportPipe[1])
            throw InstancesError.failed("starting the monitor '\(configuration.monitorExecutable)'", error)
        }
        close(reportPipe[1])
        let monitorStartTime = ProcessInspector.startTime(of: monitorPID)
        // The monitor is a child of this process; in `stint serve` it would stay a zombie after the guest ends.
        ChildReaper.reapInBackground(monitorPID)

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

    /// Returns the monitor's command line. QEMU reads a restore's memory image from descriptor 3, which the
    /// monitor opens from `incomingImage`.
    ///
    /// - Throws: `InstancesError` when the monitor or QEMU executable is missing, saying how to install it.
    private func makeMonitorArguments(
        id: String, paths: InstancePaths, generation: Int, machine: MachineConfig, incomingImage: String?
    ) throws -> MonitorArguments {
        guard access(configuration.monitorExecutable, X_OK) == 0 else {
            throw InstancesError(
                .notFound,
                "the monitor executable '\(configuration.monitorExecutable)' is missing or not executable; build "
                    + "all products ('swift build', not only '--product stint') and keep stint-monitor next to stint")
        }
        let hypervisorExecutable: String
        do {
            hypervisorExecutable = try ProcessSpawner.resolveExecutable(configuration.qemuExecutable)
        } catch {
            throw InstancesError.failed("starting QEMU for instance '\(id)' failed: \(error)")
        }
        let hypervisorArguments = QEMUCommandLine.arguments(
            for: machine, qmpSocketPath: paths.qmpSocket, incomingFileDescriptor: incomingImage == nil ? nil : 3)
        return MonitorArguments(
            dataDirectory: configuration.dataDirectory, instanceID: id, generation: generation,
            stintExecutable: configuration.stintExecutable, serialLogPath: paths.serialLog,
            serialLogLimitBytes: MonitorLauncher.serialLogLimitBytes, heartbeatPath: paths.monitorHeartbeat,
            hypervisorLogPath: paths.hypervisorLog, incomingImagePath: incomingImage,
            bootMarkers: BootMarker.allCases.map { BootMarkerLine(name: $0.rawValue, line: $0.line) },
            hypervisorExecutable: hypervisorExecutable, hypervisorArguments: hypervisorArguments)
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
