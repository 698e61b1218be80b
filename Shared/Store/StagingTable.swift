import Foundation
import Logging
import PostgresNIO

/// A temporary table filled with COPY and dropped at commit: the fast way to hand PostgreSQL
/// many rows (with NULLs and exact numerics as text) before merging them into a real table.
public struct StagingTable: Sendable {
    public let name: String
    public let columns: [(name: String, type: String)]

    public init(name: String, columns: [(name: String, type: String)]) {
        self.name = name
        self.columns = columns
    }

    /// Creates the table in the current transaction (or empties it, when this transaction used it
    /// already) and copies `rows` into it.
    public func fill(_ rows: [[String?]], on connection: PostgresConnection, logger: Logger) async throws {
        let definition = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS \(name) (\(definition)) ON COMMIT DROP"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE \(name)"), logger: logger)
        try await connection.copy(rows, into: name, columns: columns.map(\.name), logger: logger)
    }
}

extension PostgresConnection {
    /// `COPY table (columns) FROM STDIN` of `rows` in PostgreSQL's text format, streamed in 64 KiB
    /// chunks: the fastest way rows get into a table. `table` may name its schema ("ingest.report_values").
    public func copy(_ rows: [[String?]], into table: String, columns: [String], logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        // PostgresNIO quotes the name as one identifier: quote each part instead.
        let quoted = table.split(separator: ".").joined(separator: "\".\"")
        try await copyFrom(table: quoted, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(64 * 1024)
            for row in rows {
                for (index, field) in row.enumerated() {
                    if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                    buffer.writeString(CopyText.field(field))
                }
                buffer.writeInteger(UInt8(ascii: "\n"))
                if buffer.readableBytes >= 64 * 1024 {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
    }
}
