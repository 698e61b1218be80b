import Foundation

/// RFC 4180 CSV: comma-separated, double-quoted fields with `""` for a quote, CRLF or LF line
/// ends, an optional UTF-8 byte-order mark. Rows keep the line they start on so errors can say
/// where the problem is.
public enum CSV {
    public struct Row: Sendable, Equatable {
        /// 1-based line number of the row's first character in the text.
        public var line: Int
        public var fields: [String]
    }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }

        public var description: String { "line \(line): \(reason)" }
    }

    /// Parses all rows, the header included. Blank lines are skipped.
    public static func parse(_ text: String) throws(ParseError) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1
        var rowLine = 1
        var inQuotes = false
        var fieldWasQuoted = false
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var i = 0

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }
        func endRow() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                rows.append(Row(line: rowLine, fields: fields))
            }
            fields.removeAll(keepingCapacity: true)
        }

        while i < bytes.count {
            let byte = bytes[i]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard field.isEmpty && !fieldWasQuoted else {
                    throw ParseError(line: line, reason: "a quote inside an unquoted field; quote the whole field and double inner quotes")
                }
                inQuotes = true
                fieldWasQuoted = true
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\r"):
                if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                endRow()
                line += 1
                rowLine = line
            case UInt8(ascii: "\n"):
                endRow()
                line += 1
                rowLine = line
            default:
                if fieldWasQuoted {
                    throw ParseError(line: line, reason: "text after a closing quote")
                }
                field.append(byte)
            }
            i += 1
        }
        if inQuotes {
            throw ParseError(line: rowLine, reason: "a quoted field is not closed")
        }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRow() }
        return rows
    }

    /// Quotes a field when it needs it.
    public static func escape(_ field: String) -> String {
        if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return field
    }
}

/// Rows addressed by column name, after checking the header has the columns required.
public struct CSVTable: Sendable {
    public let header: [String]
    public let rows: [CSV.Row]
    private let index: [String: Int]

    public init(text: String, required: [String]) throws(CSV.ParseError) {
        let all = try CSV.parse(text)
        guard let first = all.first else { throw CSV.ParseError(line: 1, reason: "empty file: expected a header row") }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() where index[name] == nil { index[name] = i }
        let missing = required.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw CSV.ParseError(line: first.line, reason: "header lacks column(s) \(missing.joined(separator: ", ")); expected \(required.joined(separator: ","))")
        }
        self.index = index
        rows = Array(all.dropFirst())
    }

    public func has(_ column: String) -> Bool { index[column] != nil }

    public func value(_ row: CSV.Row, _ column: String) -> String {
        guard let i = index[column], i < row.fields.count else { return "" }
        return row.fields[i]
    }
}

