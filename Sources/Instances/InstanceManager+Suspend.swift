import Foundation
import Hypervisor
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

extension InstanceManager {
    /// How long a memory image may take to write or load.
    static let snapshotTimeout: Duration = .seconds(300)

    /// Pauses the guest's vCPUs; the phase is `paused` from the moment QEMU confirmed the stop.
    public func pause(_ reference: String) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .paused:
                return metadata.id
            case .running, .initializing:
                break
            default:
                throw InstancesError.conflict(
                    "cannot pause instance '\(metadata.name)': it is \(metadata.state.rawValue), not running")
            }
            try markPending(.pause, &metadata)
            let machine = try connect(paths, metadata)
            defer { machine.client.close() }
            try hypervisorCall("pause", metadata) { try machine.pause() }
            FaultPoint.reach("pause.after-hypervisor")
            metadata.transition(to: .paused, at: now())
            metadata.pendingOperation = nil
            try saveOrUndo(&metadata, "pause") { try machine.resume() }
            FaultPoint.reach("pause.after-save")
            return metadata.id
        }
        return status(ofID: id)
    }

    /// Resumes a paused guest, back to `running` (or `initializing` if it had not finished booting).
    public func resume(_ reference: String) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .running, .initializing:
                return metadata.id
            case .paused:
                break
            default:
                throw InstancesError.conflict(
                    "cannot resume instance '\(metadata.name)': it is \(metadata.state.rawValue), not paused")
            }
            try markPending(.resume, &metadata)
            let machine = try connect(paths, metadata)
            defer { machine.client.close() }
            try hypervisorCall("resume", metadata) { try machine.resume() }
            FaultPoint.reach("resume.after-hypervisor")
            metadata.transition(to: metadata.runningPhase, at: now())
            metadata.pendingOperation = nil
            try saveOrUndo(&metadata, "resume") { try machine.pause() }
            FaultPoint.reach("resume.after-save")
            return metadata.id
        }
        return status(ofID: id)
    }

    /// Saves the guest's memory into the snapshot directory and ends its hypervisor. The phase is `standby` from the
    /// moment the vCPUs stopped. On failure the guest continues in its previous phase.
    public func standby(_ reference: String) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .standby:
                return metadata.id
            case .running, .initializing, .paused:
                break
            default:
                throw InstancesError.conflict(
                    "cannot put instance '\(metadata.name)' in standby: it is \(metadata.state.rawValue), not running")
            }
            guard let machineConfig = metadata.processes?.machine else {
                throw InstancesError.failed("instance '\(metadata.name)' has no recorded machine configuration")
            }
            let previous = metadata.state
            metadata.pendingOperation = PendingOperation(
                kind: .standby, previousPhase: previous, generation: metadata.generation, startedAt: now())
            try save(&metadata)
            FaultPoint.reach("standby.after-intent")

            // The standby transition is saved once, with the final record, stamped when the vCPUs stopped. A crash
            // before that save is reconciled from the intent, and QEMU's run state then shows whether the vCPUs had
            // stopped.
            let machine = try connect(paths, metadata)
            defer { machine.client.close() }
            let pausedAt: HostInstant
            do {
                if previous != .paused {
                    try hypervisorCall("pause", metadata) { try machine.pause() }
                }
                pausedAt = now()
                FaultPoint.reach("standby.after-pause")
            } catch {
                if previous != .paused { try? machine.resume() }
                metadata.pendingOperation = nil
                try? save(&metadata)
                throw InstancesError.failed("standby of instance '\(metadata.name)'", error)
            }
            try completeStandby(
                &metadata, paths: paths, machine: machine, machineConfig: machineConfig, pausedAt: pausedAt)
            FaultPoint.reach("standby.after-save")
            return metadata.id
        }
        return status(ofID: id)
    }

    /// Loads the snapshot into a new hypervisor and continues the guest where it stopped: `running`, or
    /// `initializing` when the guest had not finished booting. The snapshot is removed once the guest runs.
    public func restore(_ reference: String) throws -> InstanceStatus {
        let id = try withLockedInstance(reference) { metadata, paths -> String in
            switch metadata.state {
            case .standby:
                break
            case .created where metadata.snapshot != nil:
                // A fork made from memory waits in created until its first restore.
                break
            case .running, .initializing, .paused:
                throw InstancesError.conflict(
                    "cannot restore instance '\(metadata.name)': it is already \(metadata.state.rawValue)")
            default:
                throw InstancesError.conflict(
                    "cannot restore instance '\(metadata.name)': it is \(metadata.state.rawValue) and has no snapshot; use 'start'"
                )
            }
            guard let snapshot = metadata.snapshot, FileManager.default.fileExists(atPath: paths.memoryImage) else {
                throw InstancesError(
                    .corrupt,
                    "instance '\(metadata.name)' is in standby but its memory image '\(paths.memoryImage)' is missing; stop it to discard the standby"
                )
            }
            // Nothing is saved before the guest runs: until the final save records the launch, a crash leaves the
            // instance in standby with its snapshot, and the new monitor ends its QEMU because no metadata names it.
            try launch(&metadata, paths: paths, machine: snapshot.machine, incomingImage: paths.memoryImage)
            FaultPoint.reach("restore.after-launch")

            do {
                let machine = try connect(paths, metadata)
                defer { machine.client.close() }
                try hypervisorCall("load snapshot", metadata) {
                    try machine.waitForIncomingMigration(timeout: InstanceManager.snapshotTimeout)
                }
                try hypervisorCall("resume", metadata) { try machine.resume() }
                FaultPoint.reach("restore.after-resume")
            } catch {
                let moment = terminateHypervisor(metadata)
                metadata.processes = nil
                metadata.pendingOperation = nil
                metadata.lastExit = ExitRecord(
                    at: moment, status: "killed after failed restore", source: .operation, estimated: false)
                try? save(&metadata)
                throw InstancesError.failed("restore of instance '\(metadata.name)'", error)
            }

            let moment = now()
            if !snapshot.guestBooted {
                metadata.bootMarkers = BootMarkers()
            } else if metadata.bootMarkers.completedAt == nil {
                // A fork's guest booted in its source; its memory carries that boot.
                metadata.bootMarkers.agentReadyAt = snapshot.takenAt
                metadata.bootMarkers.programStartedAt = snapshot.takenAt
            }
            metadata.transition(to: snapshot.guestBooted ? .running : .initializing, at: moment)
            if metadata.startedAt == nil {
                metadata.startedAt = moment
            }
            metadata.snapshot = nil
            metadata.pendingOperation = nil
            try save(&metadata)
            FaultPoint.reach("restore.after-save")
            // Renaming is quick, and removing a large image is not, so the removal happens outside the lock.
            _ = rename(paths.snapshotDirectory, paths.consumedSnapshotDirectory(generation: metadata.generation))
            return metadata.id
        }
        removeConsumedSnapshotsInBackground(in: store.paths(forID: id))
        return status(ofID: id)
    }

    /// Removes the consumed snapshots of one instance with `rm -rf` in a process of its own. The caller does not wait
    /// while the filesystem frees a large image's blocks, which took 9 to 18 ms for a 91 MiB image on ext4 under
    /// strace. The process runs in a new session and outlives a CLI command that exits first. A detached thread
    /// reaps it when the caller is a long-running server. When `rm` cannot be started, the removal happens here.
    ///
    /// A removal cut short leaves a `snapshot.consumed-N` directory that no metadata names. The next restore of the
    /// instance, `stint rm` and `stint doctor --clean` remove it.
    func removeConsumedSnapshotsInBackground(in paths: InstancePaths) {
        let consumed = consumedSnapshots(in: paths)
        guard !consumed.isEmpty else { return }
        let pid: pid_t
        do {
            pid = try ProcessSpawner.spawn(
                SpawnRequest(executable: "rm", arguments: ["-rf", "--"] + consumed, newSession: true))
        } catch {
            removeConsumedSnapshots(in: paths)
            return
        }
        ChildReaper.reapInBackground(pid)
    }

    /// Removes the snapshot directories that restores have renamed aside after use, including any that a process
    /// which died before its removal left behind, and returns their paths.
    @discardableResult
    func removeConsumedSnapshots(in paths: InstancePaths) -> [String] {
        consumedSnapshots(in: paths).filter { (try? FileManager.default.removeItem(atPath: $0)) != nil }
    }

    /// Returns the paths of the snapshot directories that restores have renamed aside in one instance's directory.
    func consumedSnapshots(in paths: InstancePaths) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: paths.directory)) ?? []
        return entries.filter { $0.hasPrefix(InstancePaths.consumedSnapshotPrefix) }.sorted().map {
            paths.directory + "/" + $0
        }
    }

    /// Records that `kind` is about to change the hypervisor, so a crash midway is reconciled against QEMU's
    /// real status. Throws, with nothing changed, when the metadata cannot be written (a full disk, for example).
    func markPending(_ kind: PendingOperation.Kind, _ metadata: inout InstanceMetadata) throws {
        metadata.pendingOperation = PendingOperation(
            kind: kind, previousPhase: metadata.state, generation: metadata.generation, startedAt: now())
        try save(&metadata)
        FaultPoint.reach("\(kind.rawValue).after-intent")
    }

    /// Saves the metadata after a hypervisor change, or undoes the change when the save fails, so the guest and its
    /// record never disagree. The pending operation on disk makes the next load check QEMU's status again.
    func saveOrUndo(_ metadata: inout InstanceMetadata, _ action: String, undo: () throws -> Void) throws {
        do {
            try save(&metadata)
        } catch {
            try? undo()
            throw InstancesError.failed(
                "\(action) of instance '\(metadata.name)' was undone because its state could not be saved", error)
        }
    }

    /// Finishes a standby whose vCPUs are stopped: writes the snapshot, ends the hypervisor, and saves the final
    /// record. With `pausedAt`, the standby transition is recorded at that moment in the same save. Without it, the
    /// phase must already be standby. If the snapshot cannot be written, the guest continues in the phase it had
    /// before.
    ///
    /// With `reuseWrittenImage`, a complete memory image written after the standby began is kept instead of written
    /// again, because QEMU refuses a second migration of a guest that one migration has already paused.
    func completeStandby(
        _ metadata: inout InstanceMetadata, paths: InstancePaths, machine: QEMUMachine, machineConfig: MachineConfig,
        pausedAt: HostInstant? = nil, reuseWrittenImage: Bool = false
    ) throws {
        let previous = metadata.pendingOperation?.previousPhase ?? .running
        do {
            let reusable =
                reuseWrittenImage
                && (imageWrittenDuringCurrentPhase(metadata, paths: paths)
                    || finishInterruptedImage(machine, paths: paths, metadata: metadata))
            if !reusable {
                try writeSnapshot(machine, into: paths.snapshotDirectory, metadata: metadata)
            }
            FaultPoint.reach("standby.after-snapshot")
        } catch {
            try? FileManager.default.removeItem(atPath: paths.snapshotDirectory)
            if previous != .paused { try? machine.resume() }
            let phase = previous == .paused ? .paused : metadata.runningPhase
            metadata.transition(to: phase, at: now())
            metadata.pendingOperation = nil
            try? save(&metadata)
            throw InstancesError.failed("standby of instance '\(metadata.name)'", error)
        }

        if let pausedAt {
            metadata.transition(to: .standby, at: pausedAt)
        }
        metadata.snapshot = SnapshotRecord(
            takenAt: metadata.phases.since ?? now(), machine: machineConfig,
            guestBooted: metadata.bootMarkers.completedAt != nil)
        _ = try? machine.quit()
        _ = machine.waitForExit(timeout: .seconds(10))
        let exitMoment = terminateHypervisor(metadata, grace: .seconds(5))
        metadata.processes = nil
        metadata.pendingOperation = nil
        metadata.lastExit = ExitRecord(
            at: exitMoment, status: "quit after standby", source: .operation, estimated: false)
        try save(&metadata)
    }

    /// True when `memory.img` is complete and was written after the current phase began.
    private func imageWrittenDuringCurrentPhase(_ metadata: InstanceMetadata, paths: InstancePaths) -> Bool {
        var info = stat()
        guard stat(paths.memoryImage, &info) == 0, let since = metadata.phases.since else { return false }
        let written = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        return written >= since.wallNanoseconds
    }

    /// Writes the memory image and machine configuration into `directory`. The image is written under a temporary
    /// name and renamed once complete, so `memory.img` exists only when it is whole.
    func writeSnapshot(_ machine: any MachineControl, into directory: String, metadata: InstanceMetadata) throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try machine.saveState(to: directory + "/memory.img.partial", timeout: InstanceManager.snapshotTimeout)
        FaultPoint.reach("snapshot.after-migration")
        try finishSnapshot(in: directory, metadata: metadata)
    }

    /// Completes a snapshot whose memory stream is whole in `memory.img.partial`: syncs it, writes the machine
    /// configuration, and renames the image to `memory.img`. One directory sync at the end makes both renames
    /// durable.
    func finishSnapshot(in directory: String, metadata: InstanceMetadata) throws {
        let image = directory + "/memory.img"
        let partial = image + ".partial"
        let descriptor = open(partial, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw DurableFile.systemError("open", partial) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced else { throw DurableFile.systemError("fsync", partial) }
        if let machineConfig = metadata.processes?.machine {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try DurableFile.write(
                try encoder.encode(machineConfig), to: directory + "/config.json", syncingDirectory: false)
        }
        guard rename(partial, image) == 0 else { throw DurableFile.systemError("rename to \(image)", partial) }
        try DurableFile.syncDirectory(directory)
    }

    /// Finishes the image of an interrupted standby whose migration QEMU reports as completed, because QEMU refuses
    /// a second migration once one has completed. Returns false when there is nothing whole to finish.
    private func finishInterruptedImage(_ machine: QEMUMachine, paths: InstancePaths, metadata: InstanceMetadata)
        -> Bool
    {
        guard FileManager.default.fileExists(atPath: paths.memoryImage + ".partial") else { return false }
        // QEMU keeps writing through the descriptor the dead command passed it, so a migration still in progress is
        // waited for. Starting another one would remove the image being written, and QEMU refuses a second
        // migration once the first completes, leaving the guest stopped.
        // NOTE: no automated test interrupts a standby while its migration is still active; the crash tests stop at
        // points where it has finished.
        let deadline = ContinuousClock.now + Self.interruptedMigrationTimeout
        var status = (try? machine.client.execute("query-migrate"))?["status"]?.string
        while let current = status, Self.migrationInProgressStates.contains(current), ContinuousClock.now < deadline {
            usleep(20_000)
            status = (try? machine.client.execute("query-migrate"))?["status"]?.string
        }
        guard status == "completed" else { return false }
        return (try? finishSnapshot(in: paths.snapshotDirectory, metadata: metadata)) != nil
    }

    /// The `query-migrate` states in which QEMU is still writing a memory image.
    private static let migrationInProgressStates: Set<String> = [
        "setup", "active", "pre-switchover", "device", "wait-unplug", "cancelling",
    ]

    /// How long reconciliation waits for a migration that an interrupted standby left running.
    private static let interruptedMigrationTimeout = Duration.seconds(120)

    func connect(_ paths: InstancePaths, _ metadata: InstanceMetadata) throws -> QEMUMachine {
        do {
            return try QEMUMachine(qmpSocketPath: paths.qmpSocket, connectTimeout: .seconds(10))
        } catch {
            throw InstancesError.failed(
                "connecting to QEMU of instance '\(metadata.name)' at \(paths.qmpSocket) failed: \(error); see \(paths.hypervisorLog)"
            )
        }
    }

    func hypervisorCall(_ action: String, _ metadata: InstanceMetadata, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw InstancesError.failed("\(action) of instance '\(metadata.name)' failed in QEMU: \(error)")
        }
    }
}
