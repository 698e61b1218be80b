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
        let escaping = text.utf8.withContiguousStorageIfAvailable(Self.mayNeedEscaping) ?? text.utf8.contains(where: Self.needsEscape)
        if escaping {
            writeEscaped(text.utf8)
        } else {
            buffer.writeString(text)
        }
    }

    /// Text given as its UTF-8 bytes (a JSON document as a writer made it), escaped as needed.
    public mutating func field(utf8 bytes: [UInt8]) {
        separate()
        if bytes.withUnsafeBufferPointer(Self.mayNeedEscaping) {
            writeEscaped(bytes)
        } else {
            buffer.writeBytes(bytes)
        }
    }

    private mutating func writeEscaped(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            switch byte {
            case 0x5C: buffer.writeStaticString("\\\\")
            case 0x09: buffer.writeStaticString("\\t")
            case 0x0A: buffer.writeStaticString("\\n")
            case 0x0D: buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    /// Whether any byte is a backslash or below 0x20 (tab and line breaks are), eight bytes at a
    /// time: a unit-period row's JSON is kilobytes, and a byte-by-byte check of every row was
    /// 4% of dx-indicators' CPU. Other control bytes only send the text the slow way, which
    /// writes them as they are.
    static func mayNeedEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let backslashes = ones &* 0x5C
        var index = 0
        while index + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            // A byte below 0x20, or a byte equal to 0x5C (zero after the XOR): the classic
            // "has a byte less than n" test, exact for n up to 128.
            let control = (word &- ones &* 0x20) & ~word & highs
            let diff = word ^ backslashes
            let backslash = (diff &- ones) & ~diff & highs
            if control | backslash != 0 { return true }
            index += 8
        }
        while index < bytes.count {
            if bytes[index] < 0x20 || bytes[index] == 0x5C { return true }
            index += 1
        }
        return false
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
