import Foundation
import PhaseTracking

#if canImport(Glibc)
    import Glibc
#endif

/// The durable, ordered record of every transition of every instance, kept after instances are deleted:
/// `<data>/usage.db`, SQLite in WAL mode.
///
/// Commits use `synchronous=NORMAL`: a commit survives a crash of the process but perhaps not a power loss. The
/// entries therefore stay in the instance metadata's outbox, which is synced at every transition, until `sync()` has
/// made them durable here, and are copied again from there if a power loss took them.
///
public final class Journal {
    private let connection: JournalConnection
    private let path: String

    /// Opens the journal of a data directory, creating it and its schema when missing. A process keeps one
    /// connection per journal file and reuses it, so opening is cheap after the first time.
    public init(dataDirectory: String) throws {
        path = dataDirectory + "/usage.db"
        connection = try JournalConnection.shared(path: path)
    }

    /// Stores `entries` of one instance in one transaction, without a sync; entries already stored are left as they
    /// are.
    ///
    /// The metadata keeps entries until a sync, so most calls repeat entries the journal already has. A read finds
    /// those first, and when nothing is new no write transaction happens.
    func append(_ entries: [PendingJournalEntry], instanceID: String, instanceName: String) throws {
        guard let lowest = entries.map(\.sequence).min(), let highest = entries.map(\.sequence).max() else { return }
        try connection.use { database in
            let newEntries = try Self.missing(entries, instanceID: instanceID, from: lowest, to: highest, in: database)
            guard !newEntries.isEmpty else { return }
            try database.transaction {
                for entry in newEntries {
                    try database.query(
                        """
                        INSERT OR IGNORE INTO transitions (instance_id, instance_name, sequence, from_phase, to_phase,
                            at_wall_ns, at_boot_ns, boot_id, previous_phase_ns, source, estimated)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        [
                            .text(instanceID), .text(instanceName), .integer(Int64(entry.sequence)),
                            entry.from.map { .text($0) } ?? .null, .text(entry.to), .integer(entry.at.wallNanoseconds),
                            .integer(entry.at.bootNanoseconds), .text(entry.at.bootID),
                            .integer(entry.previousPhaseNanoseconds), .text(entry.source.rawValue),
                            .integer(entry.estimated ? 1 : 0),
                        ])
                }
            }
        }
    }

    /// Makes every transaction committed so far, by any process, survive a power loss: fsyncs the WAL and the
    /// database file. A committed transaction is in one of the two, because SQLite overwrites WAL frames only after
    /// a checkpoint has copied them into the database file.
    func sync() throws {
        for file in [path + "-wal", path] {
            let descriptor = open(file, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                if errno == ENOENT { continue }
                throw DurableFile.systemError("open", file)
            }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw DurableFile.systemError("fsync", file) }
        }
    }

    /// Returns the entries of `entries` that the journal does not have.
    func missing(_ entries: [PendingJournalEntry], instanceID: String) throws -> [PendingJournalEntry] {
        guard let lowest = entries.map(\.sequence).min(), let highest = entries.map(\.sequence).max() else { return [] }
        return try connection.use { database in
            try Self.missing(entries, instanceID: instanceID, from: lowest, to: highest, in: database)
        }
    }

    private static func missing(
        _ entries: [PendingJournalEntry], instanceID: String, from lowest: Int, to highest: Int,
        in database: SQLiteDatabase
    ) throws -> [PendingJournalEntry] {
        let stored = try database.query(
            "SELECT sequence FROM transitions WHERE instance_id = ? AND sequence BETWEEN ? AND ?",
            [.text(instanceID), .integer(Int64(lowest)), .integer(Int64(highest))])
        let storedSequences = Set(stored.compactMap { $0.first?.integer })
        return entries.filter { !storedSequences.contains(Int64($0.sequence)) }
    }

    /// Returns the entries of one instance with a sequence above `afterSequence`, in order, at most `limit`.
    public func transitions(instanceID: String, afterSequence: Int, limit: Int) throws -> [JournalEntry] {
        try entries(
            where: "instance_id = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            [.text(instanceID), .integer(Int64(afterSequence)), .integer(Int64(limit))])
    }

    /// Returns the entries of all instances with a cursor above `afterCursor`, in cursor order, at most `limit`.
    public func transitions(afterCursor: Int64, limit: Int) throws -> [JournalEntry] {
        try entries(where: "cursor > ? ORDER BY cursor LIMIT ?", [.integer(afterCursor), .integer(Int64(limit))])
    }

    /// Returns every entry, or every entry of one instance, ordered by instance and sequence.
    public func allTransitions(instanceID: String? = nil) throws -> [JournalEntry] {
        if let instanceID {
            return try entries(where: "instance_id = ? ORDER BY sequence", [.text(instanceID)])
        }
        return try entries(where: "1 ORDER BY instance_id, sequence", [])
    }

    /// Returns the id of the instance that `reference` (an id or a name) names in the journal, or nil when the
    /// journal has no such instance. A name used more than once resolves to its newest instance.
    public func instanceID(for reference: String) throws -> String? {
        let rows = try connection.use { database in
            try database.query(
                "SELECT instance_id FROM transitions WHERE instance_id = ? OR instance_name = ? ORDER BY cursor DESC LIMIT 1",
                [.text(reference), .text(reference)])
        }
        return rows.first?.first?.text
    }

    /// Counts the transitions into each phase (and `deleted`), over all instances ever recorded.
    public func transitionCounts() throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        let rows = try connection.use { database in
            try database.query("SELECT to_phase, COUNT(*) FROM transitions GROUP BY to_phase")
        }
        for row in rows {
            if let phase = row[0].text, let count = row[1].integer {
                counts[phase] = count
            }
        }
        return counts
    }

    /// Returns the highest sequence the journal stores for each instance.
    func lastSequences() throws -> [String: Int] {
        let rows = try connection.use { database in
            try database.query("SELECT instance_id, MAX(sequence) FROM transitions GROUP BY instance_id")
        }
        var sequences: [String: Int] = [:]
        for row in rows {
            if let id = row[0].text, let sequence = row[1].integer {
                sequences[id] = Int(sequence)
            }
        }
        return sequences
    }

    /// Runs SQLite's quick integrity check and returns its complaints; empty when the journal is sound.
    public func integrityProblems() throws -> [String] {
        let rows = try connection.use { database in try database.query("PRAGMA quick_check") }
        let messages = rows.compactMap { $0.first?.text }
        return messages == ["ok"] ? [] : messages
    }

    private func entries(where clause: String, _ values: [SQLiteValue]) throws -> [JournalEntry] {
        let rows = try connection.use { database in
            try database.query(
                """
                SELECT cursor, instance_id, instance_name, sequence, from_phase, to_phase, at_wall_ns, at_boot_ns, boot_id,
                    previous_phase_ns, source, estimated FROM transitions WHERE \(clause)
                """, values)
        }
        return rows.compactMap { row in
            guard let cursor = row[0].integer, let id = row[1].text, let name = row[2].text,
                let sequence = row[3].integer, let to = row[5].text, let wall = row[6].integer,
                let boot = row[7].integer, let bootID = row[8].text, let previous = row[9].integer,
                let source = row[10].text.flatMap(TransitionSource.init(rawValue:)), let estimated = row[11].integer
            else { return nil }
            return JournalEntry(
                cursor: cursor, instanceID: id, instanceName: name, sequence: Int(sequence), from: row[4].text, to: to,
                instant: HostInstant(wallNanoseconds: wall, bootNanoseconds: boot, bootID: bootID),
                previousPhaseNanoseconds: previous, source: source, estimated: estimated != 0)
        }
    }
}
