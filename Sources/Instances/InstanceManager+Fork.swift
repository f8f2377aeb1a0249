import CSystemCalls
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
                    try Self.shareSnapshot(from: sourcePaths.snapshotDirectory, to: paths.snapshotDirectory)
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

    /// Gives `destination` the files of the snapshot directory `source`: hard links when both lie on one filesystem,
    /// copies otherwise. Sharing is safe because a snapshot file is never written after it is complete. A standby
    /// writes a new image under a temporary name and renames it into place, and restore only reads it. Removing one
    /// instance's snapshot drops only that instance's link.
    static func shareSnapshot(from source: String, to destination: String) throws {
        try FileManager.default.createDirectory(
            atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for name in ["config.json", "memory.img"] {
            try shareFile(from: source + "/" + name, to: destination + "/" + name)
        }
        try DurableFile.syncDirectory(destination)
    }

    /// Hard-links `source` at `destination`, or copies it when the filesystem refuses the link (another filesystem,
    /// no hard links, or the link count limit). The caller syncs the directory of `destination`.
    static func shareFile(from source: String, to destination: String) throws {
        if link(source, destination) == 0 {
            return
        }
        guard [EXDEV, EPERM, EMLINK, ENOTSUP, EOPNOTSUPP].contains(errno) else {
            throw DurableFile.systemError("link to \(destination)", source)
        }
        try copyFile(from: source, to: destination)
    }

    /// Copies `source` to the new file `destination` (mode 0600) and syncs it. `copy_file_range` lets the kernel
    /// copy without a round trip through this process, and share extents where the filesystem can (Btrfs, XFS).
    static func copyFile(from source: String, to destination: String) throws {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw DurableFile.systemError("open", source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw DurableFile.systemError("create", destination) }
        defer { close(output) }
        var kernelCopyWorks = true
        while kernelCopyWorks {
            let count = stint_copy_file_range(input, output, 1 << 30)
            if count < 0, errno == EINTR { continue }
            if count < 0, [ENOSYS, EXDEV, EINVAL, EOPNOTSUPP].contains(errno) {
                // Nothing was copied by the failing call, so the loop below continues at the same offsets.
                kernelCopyWorks = false
                break
            }
            guard count >= 0 else { throw DurableFile.systemError("copy_file_range to \(destination)", source) }
            if count == 0 { break }
        }
        if !kernelCopyWorks {
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
