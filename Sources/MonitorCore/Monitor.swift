import PhaseTracking
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The per-instance process that is the parent of QEMU, run as the `stint-monitor` executable.
///
/// It launches QEMU and reports `started PID START_TIME` or `failed MESSAGE` on the report descriptor. While QEMU
/// runs, it timestamps each serial console line on the host into the serial log and touches the heartbeat file every
/// second. It leaves every metadata change to `stint monitor-record`, which locks the instance and checks the
/// generation. The monitor runs that command as a child for the launch check and for each boot marker. After QEMU
/// exits, the monitor replaces itself with it (`execve`), so the exit is recorded under the pid that the metadata
/// names as the monitor. This keeps Foundation, SQLite and their shared libraries out of the long-lived process.
///
/// The monitor installs no signal handlers: SIGTERM and SIGKILL end it at once and leave QEMU running, which the
/// next operation on the instance notices because the monitor is gone.
public struct Monitor: Sendable {
    let arguments: MonitorArguments
    let clock: any HostClock
    let log: MonitorLog

    public init(arguments: MonitorArguments, clock: any HostClock = SystemClock(), log: MonitorLog) {
        self.arguments = arguments
        self.clock = clock
        var log = log
        log.metadata["instance.id"] = arguments.instanceID
        log.metadata["generation"] = String(arguments.generation)
        self.log = log
    }

    /// Launches QEMU, reports on `reportDescriptor`, and serves the instance until QEMU exits. Then the process
    /// becomes `stint monitor-record exit`, so this returns only on failure, with the exit code for the process.
    public func run(reportDescriptor: Int32) -> Int32 {
        // This runs before any thread starts, so only the descriptors each child is given reach QEMU or stint.
        ProcessFacts.markInheritedDescriptorsCloseOnExec()

        let hypervisorPID: pid_t
        let serialDescriptor: Int32
        do {
            (hypervisorPID, serialDescriptor) = try launchHypervisor()
        } catch {
            report("failed \(error.message)", to: reportDescriptor)
            log.error("hypervisor launch failed", ["error": error.message])
            return 1
        }
        let startTime = ProcessInspector.startTime(of: hypervisorPID).map { String($0) } ?? "0"
        report("started \(hypervisorPID) \(startTime)", to: reportDescriptor)
        log.info("hypervisor started", ["pid": String(hypervisorPID)])

        let recorder = RecorderQueue(stintExecutable: arguments.stintExecutable, log: log)
        let recorderResult = recorder.start()
        if recorderResult != 0 {
            log.error(
                "starting the recorder thread failed; recording on the reading thread",
                [
                    "error": errnoText(recorderResult)
                ])
        }
        recorder.enqueue(request(hypervisorPID, .launch))
        startHeartbeat()
        let serialDone = startSerialReader(descriptor: serialDescriptor, hypervisorPID: hypervisorPID, recorder)

        let status = ChildProcess.wait(for: hypervisorPID) ?? 0
        let exitInstant = clock.now()
        log.info("hypervisor exited", ["pid": String(hypervisorPID), "status": WaitStatus.describe(status)])

        // QEMU has closed the console, but the reader may still be logging the last lines and passing on markers.
        waitUntilClosed(serialDone, timeoutMilliseconds: 2000)
        recorder.drain()
        let exitRequest = request(hypervisorPID, .exit(waitStatus: status, at: exitInstant))
        let error = ChildProcess.replaceProcess(
            executable: arguments.stintExecutable, arguments: exitRequest.commandLine)
        log.error("recording the hypervisor exit failed", ["error": error.message])
        return 1
    }

    private func request(_ hypervisorPID: pid_t, _ event: MonitorRecordRequest.Event) -> MonitorRecordRequest {
        MonitorRecordRequest(
            dataDirectory: arguments.dataDirectory, instanceID: arguments.instanceID, generation: arguments.generation,
            hypervisorPID: hypervisorPID, event: event)
    }

    /// Starts QEMU with `/dev/null` on descriptor 0, the serial pipe on 1, the hypervisor log on 2 and, for a
    /// restore, the memory image on 3. Returns QEMU's pid and the read end of the serial pipe.
    private func launchHypervisor() throws(MonitorError) -> (pid_t, Int32) {
        let serial = try makeClosingPipe("the serial console")
        let nullDevice = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let hypervisorLog = open(arguments.hypervisorLogPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        var incoming: Int32 = -1
        if let incomingImagePath = arguments.incomingImagePath {
            incoming = open(incomingImagePath, O_RDONLY | O_CLOEXEC)
        }
        defer {
            for descriptor in [nullDevice, hypervisorLog, incoming, serial.write] where descriptor >= 0 {
                close(descriptor)
            }
        }
        do throws(MonitorError) {
            guard nullDevice >= 0 else {
                throw MonitorError.system("open", "/dev/null", advice: "check the host's /dev")
            }
            guard hypervisorLog >= 0 else {
                throw MonitorError.system(
                    "open", arguments.hypervisorLogPath, advice: "check that the logs directory is writable")
            }
            if let incomingImagePath = arguments.incomingImagePath, incoming < 0 {
                throw MonitorError.system(
                    "open snapshot image", incomingImagePath, advice: "check the instance's snapshot directory")
            }
            var descriptors: [Int32: Int32] = [0: nullDevice, 1: serial.write, 2: hypervisorLog]
            if incoming >= 0 {
                descriptors[3] = incoming
            }
            let pid = try ChildProcess.spawn(
                executable: arguments.hypervisorExecutable, arguments: arguments.hypervisorArguments,
                descriptors: descriptors)
            return (pid, serial.read)
        } catch {
            close(serial.read)
            throw error
        }
    }

    private func startHeartbeat() {
        let path = arguments.heartbeatPath
        let result = DetachedThread.start {
            while true {
                ProcessFacts.touch(path)
                sleep(1)
            }
        }
        if result != 0 {
            log.error("starting the heartbeat thread failed", ["error": errnoText(result)])
        }
    }

    /// Starts the serial reader on its own thread. Returns a descriptor that reads end of file once the reader is done.
    private func startSerialReader(descriptor: Int32, hypervisorPID: pid_t, _ recorder: RecorderQueue) -> Int32 {
        let done: (read: Int32, write: Int32)
        do {
            done = try makeClosingPipe("the serial reader's completion")
        } catch {
            log.error("creating a pipe failed", ["error": error.message])
            done = (-1, -1)
        }
        let reader = SerialReader(
            descriptor: descriptor, logPath: arguments.serialLogPath, logLimitBytes: arguments.serialLogLimitBytes,
            bootMarkers: arguments.bootMarkers, clock: clock, log: log
        ) { [self] marker, instant in
            recorder.enqueue(request(hypervisorPID, .bootMarker(name: marker.name, at: instant)))
        }
        let result = DetachedThread.start {
            reader.run()
            if done.write >= 0 { close(done.write) }
        }
        if result != 0 {
            log.error("starting the serial reader thread failed", ["error": errnoText(result)])
        }
        return done.read
    }

    /// Waits until `descriptor` reads end of file, or `timeoutMilliseconds` have passed.
    private func waitUntilClosed(_ descriptor: Int32, timeoutMilliseconds: Int64) {
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let deadline = monotonicMilliseconds() + timeoutMilliseconds
        var byte: UInt8 = 0
        while true {
            let remaining = deadline - monotonicMilliseconds()
            guard remaining > 0 else { return }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(remaining))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return }
            // Nothing is ever written to the pipe, so readiness means the write end was closed.
            if read(descriptor, &byte, 1) <= 0 { return }
        }
    }

    private func report(_ line: String, to descriptor: Int32) {
        writeAll(line.utf8.map { $0 == 0x0A ? 0x20 : $0 } + [0x0A], to: descriptor)
        close(descriptor)
    }
}

/// Creates a pipe whose both ends are close-on-exec. Swift does not import glibc's `pipe2`, so this sets the flag.
func makeClosingPipe(_ purpose: String) throws(MonitorError) -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    guard pipe(&ends) == 0 else {
        throw MonitorError("creating a pipe for \(purpose) failed: \(errnoText(errno)); check the open file limit")
    }
    for end in ends {
        _ = fcntl(end, F_SETFD, FD_CLOEXEC)
    }
    return (ends[0], ends[1])
}

private func monotonicMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
