import Foundation
import Logging
import PostgresNIO

/// A temporary table filled with COPY and emptied at commit: the fast way to hand PostgreSQL
/// many rows (with NULLs and exact numerics as text) before merging them into a real table.
///
/// The table lives as long as the connection. Creating and dropping it in every transaction
/// would write and delete its catalog rows and create and unlink its file each time, which a
/// consumer applying several batches a second paid for in every batch.
public struct StagingTable: Sendable {
    public let name: String
    public let columns: [(name: String, type: String)]

    public init(name: String, columns: [(name: String, type: String)]) {
        self.name = name
        self.columns = columns
    }

    /// Creates the table if this connection has none yet (or empties it, when this transaction
    /// used it already) and copies `rows` into it.
    public func fill(_ rows: [[String?]], on connection: PostgresConnection, logger: Logger) async throws {
        try await fill(rows, on: connection, logger: logger) { row, writer in
            for field in row { writer.field(field) }
        }
    }

    /// Fills the table with `rows`, each written field by field by `write` (in `columns` order).
    public func fill<Row>(_ rows: [Row], on connection: PostgresConnection, logger: Logger,
                          write: (Row, inout CopyRowWriter) -> Void) async throws {
        let definition = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS \(name) (\(definition)) ON COMMIT DELETE ROWS"), logger: logger)
        // Not TRUNCATE: on a table this transaction did not create, it makes a new file.
        try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(name)"), logger: logger)
        try await connection.copy(rows, into: name, columns: columns.map(\.name), logger: logger, write: write)
    }
}
