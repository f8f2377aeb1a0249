import Dispatch
import Foundation
import GuestImage
import Hypervisor
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The per-instance process that is the parent of QEMU.
///
/// It timestamps each serial console line on the host and appends it to `logs/serial.log`. It records
/// `initializing` → `running` at the later boot marker, and it records an exit of QEMU that no operation requested
/// as `stopped` at the moment `waitpid` returned. It writes metadata only under the instance lock and only for its
/// own generation, so an operation that ended QEMU on purpose (and wrote its own transition) is never recorded twice.
public struct Monitor: Sendable {
    /// The size at which the serial log is rotated to `serial.log.1`, so a guest flooding its console cannot fill the
    /// disk: 16 MiB, or `STINT_SERIAL_LOG_LIMIT_BYTES` (at least 4096) from the environment of the command that
    /// started the instance. At most two files of this size exist per instance.
    public static let serialLogLimitBytes: Int = {
        if let text = ProcessInfo.processInfo.environment["STINT_SERIAL_LOG_LIMIT_BYTES"], let value = Int(text),
            value >= 4096
        {
            return value
        }
        return 16 * 1024 * 1024
    }()

    let store: InstanceStore
    let id: String
    let generation: Int
    let machine: MachineConfig
    let qemuExecutable: String
    let incomingImage: String?
    let clock: any HostClock
    let log: Logger

    public init(
        store: InstanceStore, id: String, generation: Int, machine: MachineConfig, qemuExecutable: String,
        incomingImage: String?, clock: any HostClock = SystemClock(), log: Logger
    ) {
        self.store = store
        self.id = id
        self.generation = generation
        self.machine = machine
        self.qemuExecutable = qemuExecutable
        self.incomingImage = incomingImage
        self.clock = clock
        self.log = log.with(["instance.id": id, "generation": String(generation)])
    }

    /// Launches QEMU, reports on descriptor `reportDescriptor`, and returns when QEMU has exited and its exit is
    /// handled. Returns the process exit code for the monitor.
    public func run(reportDescriptor: Int32) -> Int32 {
        let paths = store.paths(forID: id)
        let hypervisorPID: pid_t
        let serialDescriptor: Int32
        do {
            (hypervisorPID, serialDescriptor) = try launchHypervisor(paths: paths)
        } catch {
            report("failed \(error)", to: reportDescriptor)
            log.error("hypervisor launch failed", ["error": "\(error)"])
            return 1
        }
        let startTime = ProcessInspector.startTime(of: hypervisorPID).map(String.init) ?? "0"
        report("started \(hypervisorPID) \(startTime)", to: reportDescriptor)
        log.info("hypervisor started", ["pid": String(hypervisorPID)])

        let heartbeat = Thread { [paths] in
            while true {
                Monitor.touch(paths.monitorHeartbeat)
                sleep(1)
            }
        }
        heartbeat.start()

        let recorder = TransitionRecorder(
            store: store, id: id, generation: generation, hypervisorPID: hypervisorPID, log: log)
        recorder.verifyOwnership()

        let serialDone = DispatchSemaphore(value: 0)
        let reader = SerialReader(
            descriptor: serialDescriptor, logPath: paths.serialLog, clock: clock, recorder: recorder, log: log)
        let thread = Thread {
            reader.run()
            serialDone.signal()
        }
        thread.start()

        var status: Int32 = 0
        while waitpid(hypervisorPID, &status, 0) < 0 {
            guard errno == EINTR else { break }
        }
        let exitInstant = clock.now()
        let description = Monitor.describe(waitStatus: status)
        log.info("hypervisor exited", ["pid": String(hypervisorPID), "status": description])

        _ = serialDone.wait(timeout: .now() + 2)
        recorder.recordExit(at: exitInstant, status: description)
        recorder.drain()
        return 0
    }

    private func launchHypervisor(paths: InstancePaths) throws -> (pid_t, Int32) {
        guard let serialEnds = makeClosingPipe() else {
            throw InstancesError.failed("creating the serial console pipe failed: \(String(cString: strerror(errno)))")
        }
        let serialPipe = [serialEnds.read, serialEnds.write]
        let nullDevice = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let hypervisorLog = open(paths.hypervisorLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        var incoming: Int32 = -1
        if let incomingImage {
            incoming = open(incomingImage, O_RDONLY | O_CLOEXEC)
        }
        defer {
            for descriptor in [nullDevice, hypervisorLog, incoming, serialPipe[1]] where descriptor >= 0 {
                close(descriptor)
            }
        }
        guard nullDevice >= 0, hypervisorLog >= 0 else {
            close(serialPipe[0])
            throw DurableFile.systemError("open", paths.hypervisorLog)
        }
        if let incomingImage, incoming < 0 {
            close(serialPipe[0])
            throw DurableFile.systemError("open snapshot image", incomingImage)
        }

        unlink(paths.qmpSocket)
        var descriptors: [Int32: Int32] = [0: nullDevice, 1: serialPipe[1], 2: hypervisorLog]
        if incoming >= 0 {
            descriptors[3] = incoming
        }
        let arguments = QEMUCommandLine.arguments(
            for: machine, qmpSocketPath: paths.qmpSocket, incomingFileDescriptor: incoming >= 0 ? 3 : nil)
        do {
            let pid = try ProcessSpawner.spawn(
                SpawnRequest(
                    executable: qemuExecutable, arguments: arguments, environment: nil, descriptors: descriptors,
                    newSession: false))
            return (pid, serialPipe[0])
        } catch {
            close(serialPipe[0])
            throw error
        }
    }

    private func report(_ line: String, to descriptor: Int32) {
        let data = Data((line.replacingOccurrences(of: "\n", with: " ") + "\n").utf8)
        try? DurableFile.writeAll(data, to: descriptor, path: "monitor report pipe")
        close(descriptor)
    }

    /// Sets the modification time of `path` to now, creating the file when missing.
    static func touch(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        futimens(descriptor, nil)
        close(descriptor)
    }

    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 {
            return "exit status \((status >> 8) & 0xff)"
        }
        return "killed by signal \(signal)"
    }
}
