import Foundation
import PhaseTracking

extension InstanceManager {
    /// Computes the usage rows of the window `[from, to)` (wall-clock nanoseconds since 1970), for one instance (name or id,
    /// also of a deleted instance) or all. Throws when the window is empty or the instance was never recorded.
    public func usage(
        fromNanoseconds: Int64, toNanoseconds: Int64, instance reference: String?, grouping: UsageReport.Grouping
    ) throws -> [UsageReport.Row] {
        guard toNanoseconds > fromNanoseconds else {
            throw InstancesError.invalid("invalid window: 'to' must be later than 'from'")
        }
        let journal = try Journal(dataDirectory: store.dataDirectory)
        let entries: [JournalEntry]
        if let reference {
            let id = try journaledID(reference, journal)
            try copyPendingEntries(into: journal, instanceIDs: [id])
            entries = try journal.allTransitions(instanceID: id)
        } else {
            try copyPendingEntries(into: journal, instanceIDs: store.instanceIDs())
            entries = try journal.allTransitions()
        }
        return UsageReport.compute(
            entries: entries, fromNanoseconds: fromNanoseconds, toNanoseconds: toNanoseconds, now: now(),
            grouping: grouping)
    }

    /// Returns the transitions of one instance (also a deleted one) after `afterSequence`, waiting up to `wait` for the first
    /// new one.
    public func transitions(
        of reference: String, afterSequence: Int, limit: Int, wait: Duration
    ) throws -> (instanceID: String, entries: [JournalEntry]) {
        let journal = try Journal(dataDirectory: store.dataDirectory)
        let id = try journaledID(reference, journal)
        let entries = try poll(wait) {
            try copyPendingEntries(into: journal, instanceIDs: [id])
            return try journal.transitions(instanceID: id, afterSequence: afterSequence, limit: limit)
        }
        return (id, entries)
    }

    /// Returns the transitions of all instances after `afterCursor`, waiting up to `wait` for the first new one.
    public func transitions(afterCursor: Int64, limit: Int, wait: Duration) throws -> [JournalEntry] {
        let journal = try Journal(dataDirectory: store.dataDirectory)
        return try poll(wait) {
            try copyPendingEntries(into: journal, instanceIDs: store.instanceIDs())
            return try journal.transitions(afterCursor: afterCursor, limit: limit)
        }
    }

    /// Counts the transitions into each phase, over every instance ever recorded.
    public func transitionCounts() throws -> [String: Int64] {
        let journal = try Journal(dataDirectory: store.dataDirectory)
        try copyPendingEntries(into: journal, instanceIDs: store.instanceIDs())
        return try journal.transitionCounts()
    }

    /// Copies the transitions that a process killed between its metadata write and its journal write left in
    /// the metadata into the journal, so that a read does not wait for the instance's next operation to see
    /// them. Without them, usage would bill the phase before the lost transition up to now.
    ///
    /// Runs without the instance locks: an outbox entry is final once its metadata file is written, and the
    /// journal stores each (instance, sequence) once, so copying an entry that another process copies at the same
    /// time is harmless. Instances whose metadata cannot be read are skipped; they report their own error.
    /// Throws when the journal cannot be written.
    private func copyPendingEntries(into journal: Journal, instanceIDs: [String]) throws {
        for id in instanceIDs {
            guard let metadata = try? store.loadMetadata(id: id), !metadata.journalOutbox.isEmpty else { continue }
            try journal.append(metadata.journalOutbox, instanceID: metadata.id, instanceName: metadata.name)
        }
    }

    private func journaledID(_ reference: String, _ journal: Journal) throws -> String {
        if let id = try? store.resolve(reference) {
            return id
        }
        guard let id = try journal.instanceID(for: reference) else {
            throw InstancesError.notFound(InstanceIdentity.printable(reference))
        }
        return id
    }

    private func poll(_ wait: Duration, _ read: () throws -> [JournalEntry]) throws -> [JournalEntry] {
        let deadline = ContinuousClock.now + wait
        while true {
            let entries = try read()
            if !entries.isEmpty || ContinuousClock.now >= deadline {
                return entries
            }
            usleep(100_000)
        }
    }
}
