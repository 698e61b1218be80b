import DXModel
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
        try await fill(rows, on: connection, logger: logger) { row, writer in
            for field in row { writer.field(field) }
        }
    }

    /// Fills the table with `rows`, each written field by field by `write` (in `columns` order).
    public func fill<Row>(_ rows: [Row], on connection: PostgresConnection, logger: Logger,
                          write: (Row, inout CopyRowWriter) -> Void) async throws {
        let definition = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE TEMP TABLE IF NOT EXISTS \(name) (\(definition)) ON COMMIT DROP"), logger: logger)
        try await connection.query(PostgresQuery(unsafeSQL: "TRUNCATE \(name)"), logger: logger)
        try await connection.copy(rows, into: name, columns: columns.map(\.name), logger: logger, write: write)
    }
}

extension PostgresConnection {
    /// `COPY table (columns) FROM STDIN` of `rows` in PostgreSQL's text format, streamed in 64 KiB
    /// chunks: the fastest way rows get into a table. `table` may name its schema ("ingest.report_values").
    public func copy(_ rows: [[String?]], into table: String, columns: [String], logger: Logger) async throws {
        try await copy(rows, into: table, columns: columns, logger: logger) { row, writer in
            for field in row { writer.field(field) }
        }
    }

    /// COPY of `rows`, each written field by field by `write`: no array of strings per row.
    public func copy<Row>(_ rows: [Row], into table: String, columns: [String], logger: Logger,
                          write: (Row, inout CopyRowWriter) -> Void) async throws {
        guard !rows.isEmpty else { return }
        // PostgresNIO quotes the name as one identifier: quote each part instead.
        let quoted = table.split(separator: ".").joined(separator: "\".\"")
        try await copyFrom(table: quoted, columns: columns, logger: logger) { copyWriter in
            var writer = CopyRowWriter()
            for row in rows {
                write(row, &writer)
                writer.endRow()
                if writer.buffer.readableBytes >= 64 * 1024 {
                    try await copyWriter.write(writer.buffer)
                    writer.buffer.clear()
                }
            }
            if writer.buffer.readableBytes > 0 { try await copyWriter.write(writer.buffer) }
        }
    }
}

/// Rows in COPY's text format: fields separated by tabs, `\N` for NULL, backslash, tab and
/// line breaks escaped.
public struct CopyRowWriter {
    var buffer = ByteBuffer()
    private var scratch: [UInt8] = []
    private var first = true

    init() {
        buffer.reserveCapacity(64 * 1024 + 4096)
        scratch.reserveCapacity(64)
    }

    private mutating func separate() {
        if !first { buffer.writeInteger(UInt8(ascii: "\t")) }
        first = false
    }

    mutating func endRow() {
        buffer.writeInteger(UInt8(ascii: "\n"))
        first = true
    }

    public mutating func field(_ text: String?) {
        separate()
        guard let text else {
            buffer.writeStaticString("\\N")
            return
        }
        // Most fields (codes, numbers, names) need no escaping: check the bytes once.
        guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
            buffer.writeString(text)
            return
        }
        for byte in text.utf8 {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// A number in its canonical text, which never needs escaping.
    public mutating func field(_ value: Quantity) {
        separate()
        scratch.removeAll(keepingCapacity: true)
        value.appendText(to: &scratch)
        buffer.writeBytes(scratch)
    }

    /// NULL for nil.
    public mutating func field(_ value: Quantity?) {
        guard let value else { return field(nil as String?) }
        field(value)
    }

    public mutating func field(_ value: Int) {
        separate()
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        scratch.removeAll(keepingCapacity: true)
        Quantity.appendDigits(UInt64(value.magnitude), to: &scratch)
        buffer.writeBytes(scratch)
    }

    public mutating func field(_ period: Period) {
        separate()
        scratch.removeAll(keepingCapacity: true)
        period.appendText(to: &scratch)
        buffer.writeBytes(scratch)
    }
}
