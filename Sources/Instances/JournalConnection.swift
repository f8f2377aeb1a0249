import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite connection a process keeps for one journal file: opened, switched to WAL with `synchronous=NORMAL`, and
/// given its schema once, then shared by every `Journal` of that file in the process.
final class JournalConnection: @unchecked Sendable {
    // @unchecked Sendable: `database` is only touched inside `use`, which holds `lock`, so one thread at a time
    // uses the connection (SQLite opened it without its own mutex).
    private let lock = NSLock()
    private let database: SQLiteDatabase
    /// The inode of the file when it was opened; a moved or replaced journal gets a new connection.
    let inode: UInt64

    private static let connections = Mutex<[String: JournalConnection]>([:])

    private init(path: String) throws {
        database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA journal_mode=WAL")
        try database.execute("PRAGMA synchronous=NORMAL")
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS transitions (
                cursor INTEGER PRIMARY KEY AUTOINCREMENT,
                instance_id TEXT NOT NULL,
                instance_name TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                from_phase TEXT,
                to_phase TEXT NOT NULL,
                at_wall_ns INTEGER NOT NULL,
                at_boot_ns INTEGER NOT NULL,
                boot_id TEXT NOT NULL,
                previous_phase_ns INTEGER NOT NULL,
                source TEXT NOT NULL,
                estimated INTEGER NOT NULL,
                UNIQUE (instance_id, sequence)
            );
            CREATE INDEX IF NOT EXISTS transitions_by_name ON transitions (instance_name);
            """)
        chmod(path, 0o600)
        inode = Self.inode(of: path) ?? 0
    }

    /// Returns the process's connection to the journal at `path`, opening a new one the first time and whenever the
    /// file at `path` is not the one the cached connection has open.
    static func shared(path: String) throws -> JournalConnection {
        try connections.withLock { connections in
            if let cached = connections[path], let current = inode(of: path), cached.inode == current {
                return cached
            }
            let opened = try JournalConnection(path: path)
            connections[path] = opened
            return opened
        }
    }

    /// Runs `body` with the connection, one caller at a time.
    func use<Result>(_ body: (SQLiteDatabase) throws -> Result) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(database)
    }

    private static func inode(of path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }
}
