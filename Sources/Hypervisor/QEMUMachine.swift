import Foundation
import Glibc

/// `MachineControl` for one QEMU process, over its QMP socket.
///
/// Like `QMPClient`, an instance is used from one thread at a time.
public final class QEMUMachine: MachineControl {
    /// The QMP client. Callers may use it for commands that `MachineControl` does not cover.
    public let client: QMPClient

    /// How long to wait for a `MIGRATION` event before asking QEMU with `query-migrate` anyway. Events are the normal
    /// path, and this bound only matters if one is lost, for example when the `events` capability is off.
    private static let migrationEventFallback: Duration = .seconds(1)

    /// Name under which `saveState(to:timeout:)` passes the image file to QEMU with `getfd`.
    private static let migrationDescriptorName = "stint-migration"

    /// Migration bandwidth limit in bytes per second for saving state to a local file.
    ///
    /// QEMU 7.2 limits migration to 128 MiB/s by default, which would throttle a save to a local file.
    /// 100 GiB/s is above the speed of any local disk, so the disk sets the pace.
    private static let localFileBandwidth = 100 * 1024 * 1024 * 1024

    /// Connects to the QMP socket at `qmpSocketPath`, retrying until `connectTimeout` while QEMU starts.
    ///
    /// - Throws: the errors of `QMPClient.init(socketPath:timeout:)`.
    public init(qmpSocketPath: String, connectTimeout: Duration) throws {
        client = try QMPClient(socketPath: qmpSocketPath, timeout: connectTimeout)
    }

    public func status() throws -> String {
        let reply = try client.execute("query-status")
        guard let status = reply["status"]?.string else {
            throw HypervisorError(
                .protocolError,
                "query-status returned no status string: \(QMPClient.render(reply)). Check the QEMU version."
            )
        }
        return status
    }

    public func pause() throws {
        try client.execute("stop")
    }

    public func resume() throws {
        try client.execute("cont")
    }

    /// Migrates the machine's state into a new file at `imagePath`.
    ///
    /// Steps: pause if running, raise the bandwidth limit, turn on the `events` migration capability, create the file
    /// (`O_EXCL`, mode 0600), pass it to QEMU with `getfd`, `migrate` to `fd:NAME`, wait for the `MIGRATION` event
    /// that reports `completed`, then `fsync` the file and its directory. While QEMU writes, a thread starts writeback
    /// of the file every few milliseconds, so the `fsync` has little left to do. The machine stays paused (QEMU
    /// reports `postmigrate`) and keeps running as a process.
    ///
    /// - Throws: `HypervisorError` with `.systemCallFailed` when the file cannot be created or synced,
    ///   `.migrationFailed` when QEMU reports `failed` or `cancelled`, `.timedOut` after `timeout` (the migration
    ///   is cancelled), or any QMP error. The partial file is removed on every failure after its creation.
    public func saveState(to imagePath: String, timeout: Duration) throws {
        let deadline = Deadline(after: timeout)
        if try status() == "running" {
            try pause()
        }
        try client.execute(
            "migrate-set-parameters",
            arguments: ["max-bandwidth": .int(Self.localFileBandwidth)]
        )
        try enableMigrationEvents()

        let descriptor = open(imagePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw HypervisorError.systemCall(
                "open", on: imagePath, errno: errno,
                hint: "Check that the directory exists and that no image from an earlier save is still there.")
        }
        var succeeded = false
        defer {
            Glibc.close(descriptor)
            if !succeeded {
                unlink(imagePath)
            }
        }

        try client.passFileDescriptor(descriptor, name: Self.migrationDescriptorName)
        let writeback = WritebackStarter(descriptor: descriptor)
        do {
            try client.execute("migrate", arguments: ["uri": .string("fd:\(Self.migrationDescriptorName)")])
            try waitForMigrationCompletion(
                before: deadline, timeout: timeout, description: "Saving state to \(imagePath)")
        } catch {
            writeback.stop()
            throw error
        }
        writeback.stop()

        guard fsync(descriptor) == 0 else {
            throw HypervisorError.systemCall(
                "fsync", on: imagePath, errno: errno, hint: "Check the file system for errors or a full disk.")
        }
        try syncDirectory(containing: imagePath)
        succeeded = true
    }

    /// Waits until the incoming migration has completed and the machine is paused.
    ///
    /// Asks `query-migrate` and `query-status` once, then again after each `MIGRATION` event that reports an end
    /// state. QEMU sends that event only with the `events` migration capability on, which `QEMUCommandLine` sets on
    /// the command line (`-global migration.x-events=on`) because the load starts before any QMP client connects.
    /// Without events the queries repeat every second.
    ///
    /// - Throws: `.migrationFailed` when QEMU reports `failed` (for example an image from another configuration),
    ///   `.timedOut`, or `.disconnected` when QEMU exits because it could not load the image.
    public func waitForIncomingMigration(timeout: Duration) throws {
        let deadline = Deadline(after: timeout)
        while true {
            let migration = try client.execute("query-migrate")
            let migrationStatus = migration["status"]?.string
            if migrationStatus == "failed" || migrationStatus == "cancelled" {
                throw HypervisorError(
                    .migrationFailed,
                    "Loading the saved state failed with status \(migrationStatus ?? ""): "
                        + "\(migration["error-desc"]?.string ?? "no description"). "
                        + "Check that the machine configuration matches the one that was saved."
                )
            }
            let runState = try status()
            if runState == "paused" && migrationStatus == "completed" {
                return
            }
            if runState == "running" {
                // -S keeps the CPUs stopped, so running means something else resumed the machine.
                return
            }
            guard !deadline.hasPassed else {
                throw HypervisorError(
                    .timedOut,
                    "Loading the saved state did not finish within \(timeout.secondsValue) s (run state \(runState), "
                        + "migration status \(migrationStatus ?? "none")). Raise the timeout or check the vmm log."
                )
            }
            try waitForMigrationEndEvent(before: deadline)
        }
    }

    public func requestPowerDown() throws {
        try client.execute("system_powerdown")
    }

    /// Sends `quit`. QEMU may close the socket before its reply arrives, which counts as success.
    public func quit() throws {
        do {
            try client.execute("quit")
        } catch let error as HypervisorError where error.code == .disconnected {
            return
        }
    }

    public func waitForExit(timeout: Duration) -> Bool {
        client.waitForDisconnect(timeout: timeout)
    }

    // MARK: - Helpers

    /// Turns on the `events` migration capability, so QEMU sends `MIGRATION` events on status changes. A machine that
    /// `QEMUCommandLine` launched has it already, and one launched by an older command line needs it set here.
    private func enableMigrationEvents() throws {
        try client.execute(
            "migrate-set-capabilities",
            arguments: ["capabilities": .array([.object(["capability": .string("events"), "state": .bool(true)])])]
        )
    }

    private func waitForMigrationCompletion(before deadline: Deadline, timeout: Duration, description: String) throws {
        while true {
            let migration = try client.execute("query-migrate")
            switch migration["status"]?.string {
            case "completed":
                return
            case "failed", "cancelled":
                throw HypervisorError(
                    .migrationFailed,
                    "\(description) ended as \(migration["status"]?.string ?? ""): "
                        + "\(migration["error-desc"]?.string ?? "no description"). Check the vmm log and free disk space."
                )
            default:
                break
            }
            if deadline.hasPassed {
                _ = try? client.execute("migrate_cancel")
                throw HypervisorError(
                    .timedOut,
                    "\(description) did not finish within \(timeout.secondsValue) s. Raise the timeout or check disk speed."
                )
            }
            try waitForMigrationEndEvent(before: deadline)
        }
    }

    /// Waits until QEMU sends a `MIGRATION` event with an end state (`completed`, `failed` or `cancelled`), the
    /// deadline passes, or `migrationEventFallback` passes. The caller then asks `query-migrate` for the details.
    private func waitForMigrationEndEvent(before deadline: Deadline) throws {
        let slice = Deadline(after: min(Self.migrationEventFallback, deadline.remaining))
        while !slice.hasPassed {
            guard let event = try client.waitForEvent(named: "MIGRATION", timeout: slice.remaining) else { return }
            let status = event["data"]?["status"]?.string
            if status == "completed" || status == "failed" || status == "cancelled" {
                return
            }
        }
    }

    /// Syncs the directory entry of a newly created file, so the file survives a crash right after this call.
    private func syncDirectory(containing path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HypervisorError.systemCall(
                "open", on: directory, errno: errno, hint: "Check the directory's permissions.")
        }
        defer { Glibc.close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw HypervisorError.systemCall(
                "fsync", on: directory, errno: errno, hint: "Check the file system for errors.")
        }
    }
}
