import CSQLite
import Foundation

/// A thin wrapper over one SQLite connection: statements with bound values and typed columns.
/// A connection is used by one thread at a time.
final class SQLiteDatabase {
    private var handle: OpaquePointer?
    let path: String

    /// Opens (creating) the database at `path` with mode 0600, waiting up to `busyTimeout` for other processes' locks.
    init(path: String, busyTimeout: Duration = .seconds(10)) throws {
        self.path = path
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &connection, flags, nil)
        guard status == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(connection)
            throw InstancesError.failed("cannot open the journal '\(path)': \(message)")
        }
        handle = connection
        let milliseconds =
            busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(connection, Int32(milliseconds))
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Runs SQL without results, such as schema statements and pragmas.
    func execute(_ sql: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        guard status == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? "status \(status)"
            sqlite3_free(errorMessage)
            throw error(message, sql: sql)
        }
    }

    /// Runs one statement with `values` bound to its `?` parameters and returns every row.
    @discardableResult
    func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [[SQLiteValue]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error(String(cString: sqlite3_errmsg(handle)), sql: sql)
        }
        defer { sqlite3_finalize(statement) }
        // SQLITE_TRANSIENT: SQLite copies the bound bytes before the call returns.
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            switch value {
            case .null: sqlite3_bind_null(statement, position)
            case .integer(let number): sqlite3_bind_int64(statement, position, number)
            case .text(let text): sqlite3_bind_text(statement, position, text, -1, transient)
            }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw error(String(cString: sqlite3_errmsg(handle)), sql: sql) }
            var row: [SQLiteValue] = []
            for column in 0..<sqlite3_column_count(statement) {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                default:
                    let text = sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
                    row.append(.text(text))
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// Runs `body` in a transaction that takes the write lock at once (`BEGIN IMMEDIATE`), committing on success.
    func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    private func error(_ message: String, sql: String) -> InstancesError {
        var advice = ""
        if message.contains("disk") || message.contains("full") {
            advice = "; free space on the filesystem of the data directory and retry"
        } else if message.contains("malformed") || message.contains("not a database") {
            advice = "; move the damaged journal aside and restore it from a backup"
        }
        let statement = sql.split(separator: " ").prefix(3).joined(separator: " ")
        return InstancesError.failed("journal '\(path)' failed on '\(statement)…': \(message)\(advice)")
    }
}

/// A value bound to or read from SQLite.
enum SQLiteValue: Equatable {
    case null
    case integer(Int64)
    case text(String)

    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}
