import DXModel
import Foundation
import Logging
import PostgresNIO

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
        guard text.utf8.contains(where: Self.needsEscape) else {
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
        field { value.appendText(to: &$0) }
    }

    /// NULL for nil.
    public mutating func field(_ value: Quantity?) {
        guard let value else { return field(nil as String?) }
        field(value)
    }

    public mutating func field(_ value: Int) {
        field {
            if value < 0 { $0.append(UInt8(ascii: "-")) }
            $0.appendDecimal(UInt64(value.magnitude))
        }
    }

    public mutating func field(_ period: Period) {
        field { period.appendText(to: &$0) }
    }

    /// Backslash, tab and line breaks: the bytes COPY's text format escapes.
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == 0x5C || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private mutating func separate() {
        if !first { buffer.writeInteger(UInt8(ascii: "\t")) }
        first = false
    }

    /// Text known to need no escaping (no backslash, tab or line break): ids and codes checked
    /// against a pattern that excludes those, and constants. Written as it is, without a scan.
    public mutating func field(unescaped text: String) {
        assert(!text.utf8.contains(where: Self.needsEscape), "\(text) needs escaping")
        separate()
        buffer.writeString(text)
    }

    /// Bytes known to need no escaping, written as they are.
    public mutating func field(unescaped bytes: [UInt8]) {
        assert(!bytes.contains(where: Self.needsEscape), "bytes that need escaping")
        separate()
        buffer.writeBytes(bytes)
    }

    /// A field whose text `append` writes and which needs no escaping (no backslash, tab or
    /// line break): numbers, periods, timestamps, array literals of codes.
    public mutating func field(unescaped append: (inout [UInt8]) -> Void) {
        separate()
        scratch.removeAll(keepingCapacity: true)
        append(&scratch)
        buffer.writeBytes(scratch)
    }
}
