import Foundation
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A problem `stint doctor` found in the data directory.
public struct DoctorFinding: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An instance whose metadata cannot be read; it shows as Unknown.
        case brokenInstance = "broken-instance"
        /// An instance whose processes are gone without a record, or with an interrupted operation.
        case unreconciledInstance = "unreconciled-instance"
        /// A directory left by a create, fork or delete that died midway, or a used snapshot that a restore renamed
        /// aside and did not remove.
        case leftoverDirectory = "leftover-directory"
        /// One metadata slot of an instance is missing or damaged while the other is complete. A crash during a save
        /// leaves this too; the next save rewrites the slot.
        case damagedSlot = "damaged-slot"
        /// The journal has transitions of an instance beyond its metadata, so the metadata went back to an older
        /// version (a slot restored from a backup or damaged after a save). Later transitions may then repeat sequence
        /// numbers, which the journal ignores.
        case journalAhead = "journal-ahead"
        /// The journal failed its integrity check.
        case journal
    }

    public var kind: Kind
    /// The instance id, or the path for other findings.
    public var subject: String
    public var detail: String
}

extension InstanceManager {
    /// Checks every instance, leftover directories and the journal, and returns what is wrong. Reading only:
    /// instances that only need reconciling are reconciled by their next operation or listing.
    public func diagnose() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let statuses = list()
        for status in statuses where status.state == .unknown || status.stateError != nil {
            let kind: DoctorFinding.Kind = status.metadata == nil ? .brokenInstance : .unreconciledInstance
            findings.append(
                DoctorFinding(
                    kind: kind, subject: status.id, detail: status.stateError ?? "state \(status.state.rawValue)"))
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: store.instancesDirectory)) ?? []
        for entry in entries.sorted() where entry.hasPrefix(".creating-") || entry.hasPrefix(".deleted-") {
            findings.append(
                DoctorFinding(
                    kind: .leftoverDirectory, subject: store.instancesDirectory + "/" + entry,
                    detail: "left by an interrupted create, fork or delete; 'stint doctor --clean' removes it"))
        }
        let brokenIDs = Set(findings.filter { $0.kind == .brokenInstance }.map(\.subject))
        for id in store.instanceIDs() {
            if !brokenIDs.contains(id) {
                for problem in store.paths(forID: id).metadataSlots.problems() {
                    let consequence =
                        problem.isRewrittenBySave
                        ? "the instance reads the other slot, and its next save rewrites this one"
                        : "the instance reads the other slot, but its saves fail until this file is removed"
                    findings.append(
                        DoctorFinding(
                            kind: .damagedSlot, subject: id, detail: problem.description + "; " + consequence))
                }
            }
            for path in consumedSnapshots(in: store.paths(forID: id)) {
                findings.append(
                    DoctorFinding(
                        kind: .leftoverDirectory, subject: path,
                        detail: "snapshot already restored but not removed; 'stint doctor --clean' removes it"))
            }
            if let path = unreferencedSnapshot(id: id) {
                findings.append(
                    DoctorFinding(
                        kind: .leftoverDirectory, subject: path,
                        detail: "snapshot that the metadata does not reference, left by an interrupted restore; "
                            + "'stint doctor --clean' removes it"))
            }
        }
        findings += journalAheadFindings(statuses)
        do {
            let problems = try Journal(dataDirectory: store.dataDirectory).integrityProblems()
            for problem in problems {
                findings.append(
                    DoctorFinding(kind: .journal, subject: store.dataDirectory + "/usage.db", detail: problem))
            }
        } catch {
            findings.append(
                DoctorFinding(kind: .journal, subject: store.dataDirectory + "/usage.db", detail: "\(error)"))
        }
        return findings
    }

    /// Reports the instances among `statuses` whose journal has a higher sequence than their metadata's
    /// transition count.
    private func journalAheadFindings(_ statuses: [InstanceStatus]) -> [DoctorFinding] {
        guard let lastSequences = try? Journal(dataDirectory: store.dataDirectory).lastSequences() else { return [] }
        var findings: [DoctorFinding] = []
        for status in statuses {
            let id = status.id
            guard let metadata = status.metadata, let journaled = lastSequences[id],
                journaled > metadata.phases.transitionCount
            else { continue }
            findings.append(
                DoctorFinding(
                    kind: .journalAhead, subject: id,
                    detail:
                        "the journal has transition \(journaled) but the metadata only \(metadata.phases.transitionCount), "
                        + "so the metadata went back to an older version; compare 'stint transitions \(id)' with "
                        + "'stint inspect \(id)' before billing this instance"))
        }
        return findings
    }

    /// Moves a broken instance's directory to `<data>/broken/<id>-<time>`, keeping every file for inspection, and
    /// returns the new path. Only instances whose metadata cannot be read may be moved.
    public func moveAside(_ id: String) throws -> String {
        guard InstanceIdentity.isValidID(id) else {
            throw InstancesError.invalid(
                "invalid instance id '\(InstanceIdentity.printable(id))': give the 16-digit id 'stint doctor' lists")
        }
        let paths = store.paths(forID: id)
        guard FileManager.default.fileExists(atPath: paths.directory) else { throw InstancesError.notFound(id) }
        let lock = try FileLock.acquire(
            path: paths.lock, timeout: configuration.lockTimeout, purpose: "instance '\(id)'")
        defer { lock.unlock() }
        if (try? store.loadMetadata(id: id)) != nil {
            throw InstancesError.conflict(
                "instance '\(id)' has readable metadata; use 'stint rm' to delete it instead of moving it aside")
        }
        // With unreadable metadata the recorded pids are unknown, so the processes are found by their arguments.
        let running = ProcessInspector.processes(withArgumentsInside: paths.directory)
        guard running.isEmpty else {
            throw InstancesError.conflict(
                "instance '\(id)' still has running processes (pids "
                    + running.map(String.init).joined(separator: ", ")
                    + "), its monitor and guest; stop them with 'kill PID' first, because a moved instance is no longer "
                    + "accounted")
        }
        let brokenDirectory = store.dataDirectory + "/broken"
        try FileManager.default.createDirectory(
            atPath: brokenDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stamp = now().timestamp.replacingOccurrences(of: ":", with: "")
        let destination = brokenDirectory + "/\(id)-\(stamp)"
        guard rename(paths.directory, destination) == 0 else {
            throw DurableFile.systemError("move to \(destination)", paths.directory)
        }
        try DurableFile.syncDirectory(store.instancesDirectory)
        return destination
    }

    /// Removes directories left by interrupted creates, forks and deletes, and snapshots that restores used but did
    /// not remove, and returns their paths.
    public func removeLeftovers() -> [String] {
        let storeLock = try? store.lockStore(timeout: configuration.lockTimeout)
        defer { storeLock?.unlock() }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: store.instancesDirectory)) ?? []
        var removed: [String] = []
        for entry in entries where entry.hasPrefix(".creating-") || entry.hasPrefix(".deleted-") {
            let path = store.instancesDirectory + "/" + entry
            if (try? FileManager.default.removeItem(atPath: path)) != nil {
                removed.append(path)
            }
        }
        for id in store.instanceIDs() {
            removed += removeConsumedSnapshots(in: store.paths(forID: id))
            // The instance lock keeps a standby from creating this directory between the check and the removal.
            if let lock = try? store.lockInstance(id: id, timeout: .zero) {
                if let path = unreferencedSnapshot(id: id), (try? FileManager.default.removeItem(atPath: path)) != nil {
                    removed.append(path)
                }
                lock.unlock()
            }
        }
        return removed
    }

    /// Returns the instance's `snapshot` directory when it exists but its metadata references no snapshot and no
    /// operation is in progress: a restore saved its record and died before it renamed the directory aside.
    private func unreferencedSnapshot(id: String) -> String? {
        let path = store.paths(forID: id).snapshotDirectory
        guard FileManager.default.fileExists(atPath: path), let metadata = try? store.loadMetadata(id: id),
            metadata.snapshot == nil, metadata.pendingOperation == nil
        else { return nil }
        return path
    }
}
