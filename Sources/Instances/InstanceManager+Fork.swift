import Foundation
import Hypervisor
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The phase a fork lands in.
public enum ForkTarget: String, Sendable, CaseIterable {
    case running, standby, stopped
}

extension InstanceManager {
    /// Creates a new instance from `reference`'s configuration and, for a standby or live source, its memory.
    ///
    /// The fork starts with an empty tracker at its creation time. A live source is paused only while its memory is
    /// copied and then continues; that pause is recorded in the source's own tracker. A stopped or created source has
    /// no memory, so its fork boots afresh. `target` defaults to running for a live source, standby for a source in
    /// standby, and stopped otherwise.
    public func fork(_ reference: String, name: String, target requestedTarget: ForkTarget?) throws -> InstanceStatus {
        try InstanceIdentity.validateName(name)
        let storeLock = try store.lockStore(timeout: configuration.lockTimeout)
        defer { storeLock.unlock() }
        try ensureNameIsFree(name)

        let forkID = InstanceIdentity.generateID()
        let target = try withLockedInstance(reference) { source, sourcePaths -> ForkTarget in
            let target = requestedTarget ?? Self.defaultForkTarget(source.state)
            let createdAt = now()
            var fork = InstanceMetadata(
                id: forkID, name: name, createdAt: createdAt, memoryMiB: source.memoryMiB, vcpus: source.vcpus,
                command: source.command, forkedFrom: source.id)
            fork.transition(to: .created, at: createdAt)
            fork.bootMarkers = source.bootMarkers

            switch (source.state, target) {
            case (.shutdown, _):
                throw InstancesError.conflict(
                    "cannot fork instance '\(source.name)' while it shuts down; wait until it is stopped")
            case (_, .stopped):
                fork.transition(to: .stopped, at: createdAt)
                try publish(fork) { _ in }
            case (.created, _), (.stopped, _):
                guard target == .running else {
                    throw InstancesError.invalid(
                        "instance '\(source.name)' is \(source.state.rawValue) and has no memory to fork into standby; use --target running or stopped"
                    )
                }
                try publish(fork) { _ in }
            case (.standby, _):
                guard let snapshot = source.snapshot else {
                    throw InstancesError(.corrupt, "instance '\(source.name)' is in standby without a snapshot record")
                }
                fork.snapshot = snapshot
                if target == .standby { fork.transition(to: .standby, at: createdAt) }
                try publish(fork) { paths in
                    try Self.copySnapshot(from: sourcePaths.snapshotDirectory, to: paths.snapshotDirectory)
                }
            case (.initializing, _), (.running, _), (.paused, _):
                try forkLive(&source, sourcePaths: sourcePaths, into: &fork, target: target)
            }
            return target
        }

        if target == .running {
            let fork = try store.loadMetadata(id: forkID)
            return fork.snapshot != nil ? try restore(forkID) : try start(forkID)
        }
        return status(ofID: forkID)
    }

    private func forkLive(
        _ source: inout InstanceMetadata, sourcePaths: InstancePaths, into fork: inout InstanceMetadata,
        target: ForkTarget
    ) throws {
        guard let machineConfig = source.processes?.machine else {
            throw InstancesError.failed("instance '\(source.name)' has no recorded machine configuration")
        }
        let previous = source.state
        source.pendingOperation = PendingOperation(
            kind: .fork, previousPhase: previous, generation: source.generation)
        try save(&source)

        let machine = try connect(sourcePaths, source)
        defer { machine.client.close() }
        var failure: (any Error)?
        do {
            if previous != .paused {
                try hypervisorCall("pause", source) { try machine.pause() }
                source.transition(to: .paused, at: now())
                try save(&source)
                FaultPoint.reach("fork.after-source-paused")
            }
            fork.snapshot = SnapshotRecord(
                takenAt: now(), machine: machineConfig, guestBooted: source.bootMarkers.completedAt != nil)
            if target == .standby { fork.transition(to: .standby, at: now()) }
            let sourceMetadata = source
            try publish(fork) { paths in
                try writeSnapshot(machine, into: paths.snapshotDirectory, metadata: sourceMetadata)
            }
            FaultPoint.reach("fork.after-publish")
        } catch {
            failure = error
        }

        if previous != .paused {
            if (try? machine.resume()) != nil {
                source.transition(to: previous, at: now())
            }
        }
        source.pendingOperation = nil
        try save(&source)
        FaultPoint.reach("fork.after-source-resumed")
        if let failure {
            throw InstancesError.failed("fork of instance '\(source.name)'", failure)
        }
    }

    static func defaultForkTarget(_ phase: Phase) -> ForkTarget {
        switch phase {
        case .initializing, .running, .paused: return .running
        case .standby: return .standby
        case .created, .stopped, .shutdown: return .stopped
        }
    }

    /// Copies a snapshot directory. The memory image shares its extents with the source on filesystems with
    /// reflinks (Btrfs, XFS) and is copied block by block elsewhere.
    static func copySnapshot(from source: String, to destination: String) throws {
        try FileManager.default.createDirectory(
            atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["config.json", "memory.img"] {
            try copyFile(from: source + "/" + name, to: destination + "/" + name)
        }
        try DurableFile.syncDirectory(destination)
    }

    static func copyFile(from source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw DurableFile.systemError("open", source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw DurableFile.systemError("create", destination) }
        defer { close(output) }
        // FICLONE from linux/fs.h: share the extents of `input`; fails with EOPNOTSUPP or EXDEV where unsupported.
        let ficlone: UInt = 0x4004_9409
        if ioctl(output, ficlone, input) != 0 {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = read(input, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else { throw DurableFile.systemError("read", source) }
                if count == 0 { break }
                try DurableFile.writeAll(Data(buffer[0..<count]), to: output, path: destination)
            }
        }
        guard fsync(output) == 0 else { throw DurableFile.systemError("fsync", destination) }
    }
}
