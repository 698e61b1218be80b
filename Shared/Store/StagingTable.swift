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
        guard !rows.isEmpty else { return }
        try await connection.copyFrom(table: name, columns: columns.map(\.name), logger: logger) { writer in
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
