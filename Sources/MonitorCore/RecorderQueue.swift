#if canImport(Glibc)
    import Glibc
#endif

/// Runs the monitor's `stint monitor-record` children one at a time, in the order their requests were queued, on a
/// thread of its own. So reading the console never waits for the instance lock, unless that thread failed to start.
///
/// Running one at a time keeps the order of observations. The launch check comes first, then each boot marker, and
/// the exit last, because the monitor runs it itself after `drain()`.
final class RecorderQueue: @unchecked Sendable {
    // @unchecked: `pending`, `busy` and `hasWorker` are read and written only while `mutex` is locked, and the
    // pthread objects live at fixed heap addresses for the lifetime of the queue.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var pending: [MonitorRecordRequest] = []
    private var busy = false
    private var hasWorker = false
    private let stintExecutable: String
    private let log: MonitorLog

    init(stintExecutable: String, log: MonitorLog) {
        self.stintExecutable = stintExecutable
        self.log = log
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        changed = .allocate(capacity: 1)
        changed.initialize(to: pthread_cond_t())
        pthread_cond_init(changed, nil)
    }

    deinit {
        pthread_cond_destroy(changed)
        changed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Starts the worker thread. Returns 0, or the error code of `pthread_create`; without a worker, `enqueue`
    /// applies each request on the calling thread.
    func start() -> Int32 {
        let result = DetachedThread.start { [self] in
            work()
        }
        pthread_mutex_lock(mutex)
        hasWorker = result == 0
        pthread_mutex_unlock(mutex)
        return result
    }

    func enqueue(_ request: MonitorRecordRequest) {
        pthread_mutex_lock(mutex)
        guard hasWorker else {
            pthread_mutex_unlock(mutex)
            apply(request)
            return
        }
        pending.append(request)
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until every request queued so far has been applied.
    func drain() {
        pthread_mutex_lock(mutex)
        while busy || !pending.isEmpty {
            pthread_cond_wait(changed, mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    private func work() {
        while true {
            pthread_mutex_lock(mutex)
            while pending.isEmpty {
                pthread_cond_wait(changed, mutex)
            }
            let request = pending.removeFirst()
            busy = true
            pthread_mutex_unlock(mutex)

            apply(request)

            pthread_mutex_lock(mutex)
            busy = false
            pthread_cond_broadcast(changed)
            pthread_mutex_unlock(mutex)
        }
    }

    /// Delays before the attempts after the first, in milliseconds. A boot marker appears on the console only once,
    /// so a recorder that was killed or could not start is run again rather than leaving the guest initializing.
    static let retryDelaysMilliseconds: [UInt32] = [100, 500, 2_000]

    /// Runs `stint monitor-record` for `request` and waits for it, again after each delay of
    /// `retryDelaysMilliseconds` while it fails. A saved boot marker reaches the fault point
    /// `monitor.after-boot-recorded` here, in the monitor, because that is the process the crash tests kill.
    private func apply(_ request: MonitorRecordRequest) {
        for delay in [0] + Self.retryDelaysMilliseconds {
            if delay > 0 {
                usleep(delay * 1_000)
                log.info("running the recorder again", ["delay_ms": String(delay)])
            }
            if attempt(request) { return }
        }
        // NOTE: a boot marker whose recorder fails on every attempt (for example because the stint executable moved
        // while the guest ran) is not recorded, and the guest stays initializing in the metadata.
        log.error("recorder failed on every attempt", ["attempts": String(Self.retryDelaysMilliseconds.count + 1)])
    }

    /// Runs the recorder once. Returns false when it could not start, was killed, or exited with an error.
    private func attempt(_ request: MonitorRecordRequest) -> Bool {
        let child: pid_t
        do {
            child = try ChildProcess.spawn(
                executable: stintExecutable, arguments: request.commandLine, descriptors: [1: 1, 2: 2])
        } catch {
            log.error("starting the recorder failed", ["error": error.message])
            return false
        }
        guard let status = ChildProcess.wait(for: child) else {
            log.error("waiting for the recorder failed", ["pid": String(child), "error": errnoText(errno)])
            return false
        }
        let exitCode = (status >> 8) & 0xff
        let exited = status & 0x7f == 0
        if case .bootMarker = request.event, exited, exitCode == 0 {
            MonitorFaultPoint.reach("monitor.after-boot-recorded")
            return true
        }
        if !exited || (exitCode != 0 && exitCode != MonitorRecordRequest.unchangedExitCode) {
            log.error("recorder failed", ["pid": String(child), "status": WaitStatus.describe(status)])
            return false
        }
        return true
    }
}
