import Foundation

/// A cell's report values as its row in PostgreSQL keeps them: a JSON array of
/// `[report id, revision, acceptance sequence, value]`, the value as exact decimal text or null
/// for a withdrawal, e.g. `[["r-1",2,17,"4254"],["r-2",1,9,null]]`. Written and read without a
/// general-purpose JSON coder: loading a province's state reads one for every reported cell.
public enum ReportsColumn {
    /// Nil (SQL NULL) when no report gives the cell.
    public static func json(_ reports: [ReportedValue]) -> String? {
        guard !reports.isEmpty else { return nil }
        var writer = MessageJSONWriter(capacity: 48 * reports.count)
        write(reports, to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// The array, or null when no report gives the cell, as the next value of `writer`.
    public static func write(_ reports: [ReportedValue], to writer: inout MessageJSONWriter) {
        guard !reports.isEmpty else { return writer.null() }
        writer.beginArray()
        for report in reports {
            writer.element()
            writer.beginArray()
            writer.element()
            writer.string(report.reportID)
            writer.element()
            writer.number(report.revision)
            writer.element()
            writer.number(report.sequence)
            writer.element()
            if let value = report.value {
                writer.string(value)
            } else {
                writer.null()
            }
            writer.endArray()
        }
        writer.endArray()
    }

    /// The report values of a `reports` column's text (as PostgreSQL prints jsonb, with spaces
    /// after commas, or as `json` writes it), sorted by report id.
    public static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(MessageJSONError) -> [ReportedValue] {
        var reader = MessageJSONReader(bytes)
        let reports = try read(from: &reader)
        try reader.end()
        return reports
    }

    /// The next value of `reader`: an array of report entries, or null for none.
    static func read(from reader: inout MessageJSONReader) throws(MessageJSONError) -> [ReportedValue] {
        if reader.null() { return [] }
        var reports: [ReportedValue] = []
        var first = true
        while try reader.nextElement(first: &first) {
            var field = true
            guard try reader.nextElement(first: &field) else { throw reader.error("a report entry is empty") }
            let id = try reader.string()
            guard try reader.nextElement(first: &field) else { throw reader.error("a report entry has no revision") }
            let revision = try reader.integer(Int.self)
            guard try reader.nextElement(first: &field) else { throw reader.error("a report entry has no sequence") }
            let sequence = try reader.integer(Int64.self)
            guard try reader.nextElement(first: &field) else { throw reader.error("a report entry has no value") }
            let value = reader.null() ? nil : try reader.quantityString()
            guard try !reader.nextElement(first: &field) else { throw reader.error("a report entry has more than four fields") }
            reports.append(ReportedValue(reportID: id, revision: revision, sequence: sequence, value: value))
        }
        if reports.count > 1 { reports.sort { $0.reportID < $1.reportID } }
        return reports
    }

    public static func parse(_ text: String) throws(MessageJSONError) -> [ReportedValue] {
        var text = text
        return try text.withUTF8 { bytes in Result { () throws(MessageJSONError) in try parse(utf8: bytes) } }.get()
    }
}
