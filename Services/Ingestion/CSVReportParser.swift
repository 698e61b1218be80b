import DXModel
import Foundation

/// Options of `POST /v1/reports` given in the query string: the report id and revision for CSV
/// bodies (which have no header object to carry them), partial acceptance, and default unit and
/// period for rows that leave them out.
struct ReportQuery: Sendable {
    var reportID: String?
    var revision: String?
    var partial: Bool?
    var unit: String?
    var period: String?

    init(reportID: String? = nil, revision: String? = nil, partial: Bool? = nil, unit: String? = nil, period: String? = nil) {
        self.reportID = reportID
        self.revision = revision
        self.partial = partial
        self.unit = unit
        self.period = period
    }

    /// Reads `partial` strictly: a typo must not silently turn all-or-nothing into partial.
    static func flag(_ name: String, _ text: Substring?) throws(Problem) -> Bool? {
        guard let text else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw Problem.badRequest("query parameter \(name) must be true or false, not '\(ReportValidator.quoted(String(text)))'")
        }
    }
}

/// Reads `POST /v1/reports` bodies sent as `text/csv` (UTF-8, RFC 4180): a header row naming the
/// columns, then one observation per row.
///
///     unit,period,element,value
///     old-467,2023,households_total,12002
///     old-467,2023,households_with_fibre,4254
///
/// Columns `unit`, `period`, `element`, `value` (the first two may be left out when the query
/// gives `unit=` / `period=` defaults); `report_id` and `revision` columns may stand in for the
/// query parameters `reportId` and `revision` when every row gives the same; other columns (a
/// source, a quote, a commune's name with diacritics) are ignored. Column names are matched
/// without regard to case. Lines are the CSV's own line numbers, the header being line 1.
enum CSVReportParser {
    static let columns = ["unit", "period", "element", "value"]

    static func parse(_ body: [UInt8], query: ReportQuery) throws(Problem) -> (header: ReportHeader, rows: [ReportValidator.RawRow]) {
        let all: [CSV.Row]
        do throws(CSV.ParseError) {
            all = try CSV.parse(String(decoding: body, as: UTF8.self))
        } catch {
            throw Problem.badRequest("the body is not valid CSV: line \(error.line): \(error.reason)",
                                     errors: [.init(line: error.line, field: "csv", reason: error.reason)])
        }
        guard let headerRow = all.first else {
            throw Problem.badRequest("the CSV body is empty: expected a header row (\(columns.joined(separator: ",")))",
                                     errors: [.init(line: 1, field: "csv", reason: "no header row")])
        }
        let names = headerRow.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var index: [String: Int] = [:]
        var headerErrors: [Problem.RowError] = []
        for (position, name) in names.enumerated() where !name.isEmpty {
            if index[name] != nil {
                headerErrors.append(.init(line: headerRow.line, field: name, reason: "column \(ReportValidator.quoted(name)) appears twice in the header"))
            } else {
                index[name] = position
            }
        }
        var required = ["element", "value"]
        if query.unit == nil { required.insert("unit", at: 0) }
        if query.period == nil { required.insert("period", at: required.count - 2) }
        for column in required where index[column] == nil {
            let hint = column == "unit" || column == "period" ? " (or give a default as ?\(column)=…)" : ""
            headerErrors.append(.init(line: headerRow.line, field: column, reason: "the header lacks the column \(column)\(hint); expected \(columns.joined(separator: ","))"))
        }
        if !headerErrors.isEmpty {
            throw Problem.badRequest("the CSV header is not usable: \(headerErrors.map(\.reason).joined(separator: "; "))", errors: headerErrors)
        }
        let rows = Array(all.dropFirst())
        func cell(_ row: CSV.Row, _ column: String) -> String? {
            guard let i = index[column], i < row.fields.count else { return nil }
            return row.fields[i].trimmingCharacters(in: .whitespaces)
        }

        var errors: [Problem.RowError] = []
        // Report id and revision: the query, or columns that agree on every row.
        func resolve(_ parameter: String, column: String, _ fromQuery: String?) -> String? {
            if let fromQuery {
                for row in rows {
                    if let given = cell(row, column), !given.isEmpty, given != fromQuery {
                        errors.append(.init(line: row.line, field: column, reason: "\(column) '\(ReportValidator.quoted(given))' differs from the query's \(parameter) '\(ReportValidator.quoted(fromQuery))'"))
                    }
                }
                return fromQuery
            }
            guard index[column] != nil else { return nil }
            var chosen: (value: String, line: Int)?
            for row in rows {
                guard let given = cell(row, column), !given.isEmpty else { continue }
                if let chosen, chosen.value != given {
                    errors.append(.init(line: row.line, field: column, reason: "\(column) '\(ReportValidator.quoted(given))' differs from '\(ReportValidator.quoted(chosen.value))' on line \(chosen.line); one request carries one report"))
                } else if chosen == nil {
                    chosen = (given, row.line)
                }
            }
            return chosen?.value
        }
        let reportIDText = resolve("reportId", column: "report_id", query.reportID)
        let revisionText = resolve("revision", column: "revision", query.revision)

        var reportID = ""
        if let reportIDText {
            if ReportValidator.isValidReportID(reportIDText) { reportID = reportIDText } else {
                errors.append(.init(line: 0, field: "reportId", reason: "'\(ReportValidator.quoted(reportIDText))' is not a valid report id: \(ReportValidator.reportIDPattern)"))
            }
        } else {
            errors.append(.init(line: 0, field: "reportId", reason: "reportId is missing: give it as the query parameter ?reportId=… or a report_id column"))
        }
        var revision = 0
        if let revisionText {
            if let number = Int(revisionText), (1...ReportHeader.maximumRevision).contains(number) { revision = number } else {
                errors.append(.init(line: 0, field: "revision", reason: "revision must be a whole number from 1 to \(ReportHeader.maximumRevision), not '\(ReportValidator.quoted(revisionText))'"))
            }
        } else {
            errors.append(.init(line: 0, field: "revision", reason: "revision is missing: give it as the query parameter ?revision=… or a revision column"))
        }
        if !errors.isEmpty { throw Problem.invalid(errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }, rows: rows.count) }

        let raws = rows.map { row -> ReportValidator.RawRow in
            if row.fields.count > names.count {
                return ReportValidator.RawRow(line: row.line, value: .missing,
                                              shapeError: ("row", "the row has \(row.fields.count) fields; the header has \(names.count) (quote fields that contain commas)"))
            }
            func orDefault(_ text: String?, _ fallback: String?) -> String? {
                if let text, !text.isEmpty { return text }
                return fallback
            }
            return ReportValidator.RawRow(
                line: row.line,
                unit: orDefault(cell(row, "unit"), query.unit),
                period: orDefault(cell(row, "period"), query.period),
                element: cell(row, "element"),
                value: cell(row, "value").map { .text($0) } ?? .missing
            )
        }
        return (ReportHeader(reportID: reportID, revision: revision, partial: query.partial ?? false), raws)
    }
}
