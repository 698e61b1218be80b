import Crypto
import DXModel
import Foundation

/// Reads `POST /v1/reports` JSON bodies:
/// `{"reportId": "...", "revision": 1, "unit": "...", "period": "...", "observations": [{"unit", "period", "element", "value"}]}`
/// where the top-level `unit` and `period` are defaults for observations that leave them out.
enum JSONReportParser {
    /// `partial` may also come as the query parameter `?partial=true`; the body's field wins.
    static func parse(_ body: [UInt8], partialByDefault: Bool = false) throws(Problem) -> (header: ReportHeader, rows: [ReportValidator.RawRow]) {
        let document: JSONValue
        do throws(JSONSyntaxError) {
            document = try JSONParser.parse(body)
        } catch {
            throw Problem.badRequest("the body is not valid JSON: \(error)",
                                     errors: [.init(line: error.line, field: "body", reason: "not valid JSON: column \(error.column): \(error.reason)")])
        }
        guard case .object = document else { throw Problem.badRequest("the body must be a JSON object, not \(document.kind)") }

        var headerErrors: [Problem.RowError] = []
        var reportID = ""
        switch document["reportId"] {
        case .string(let id)? where ReportValidator.isValidReportID(id): reportID = id
        case .string(let id)?: headerErrors.append(.init(line: 0, field: "reportId", reason: "'\(ReportValidator.quoted(id))' is not a valid report id: \(ReportValidator.reportIDPattern)", pointer: "/reportId"))
        case nil: headerErrors.append(.init(line: 0, field: "reportId", reason: "reportId is missing", pointer: "/reportId"))
        case let other?: headerErrors.append(.init(line: 0, field: "reportId", reason: "reportId must be a string, not \(other.kind)", pointer: "/reportId"))
        }
        var revision = 0
        switch document["revision"] {
        case .number(let number)? where number.quantity?.exactInt.map({ (1...ReportHeader.maximumRevision).contains($0) }) == true:
            revision = number.quantity!.exactInt!
        case nil: headerErrors.append(.init(line: 0, field: "revision", reason: "revision is missing", pointer: "/revision"))
        case let other?: headerErrors.append(.init(line: 0, field: "revision", reason: "revision must be a whole number from 1 to \(ReportHeader.maximumRevision), not \(describe(other))", pointer: "/revision"))
        }
        var partial = partialByDefault
        switch document["partial"] {
        case .bool(let flag)?: partial = flag
        case nil: break
        case let other?: headerErrors.append(.init(line: 0, field: "partial", reason: "partial must be true or false, not \(other.kind)", pointer: "/partial"))
        }
        for field in ["unit", "period"] {
            if let value = document[field], value != .null, string(value) == nil {
                headerErrors.append(.init(line: 0, field: field, reason: "\(field) must be a string, not \(value.kind)", pointer: "/\(field)"))
            }
        }
        guard case .array(let observations)? = document["observations"] else {
            headerErrors.append(.init(line: 0, field: "observations", reason: "observations must be an array of {unit, period, element, value}", pointer: "/observations"))
            throw Problem.invalid(headerErrors, rows: 0)
        }
        if !headerErrors.isEmpty { throw Problem.invalid(headerErrors, rows: observations.count) }

        let defaultUnit = string(document["unit"])
        let defaultPeriod = string(document["period"])

        let rows = observations.enumerated().map { index, item -> ReportValidator.RawRow in
            guard case .object = item else {
                return ReportValidator.RawRow(line: index + 1, value: .missing, observationIndex: index,
                                              shapeError: ("observation", "an observation must be an object {unit, period, element, value}, not \(item.kind)"))
            }
            let value: ReportValidator.RawValue = switch item["value"] {
            case .number(let number)?: .number(number)
            case nil, .null?: .missing
            case .string(let text)? where ReportValidator.isNonFinite(text.trimmingCharacters(in: .whitespaces)): .text(text)
            case let other?: .wrongType(other.kind)
            }
            return ReportValidator.RawRow(
                line: index + 1,
                unit: string(item["unit"]) ?? defaultUnit,
                period: string(item["period"]) ?? defaultPeriod,
                element: string(item["element"]),
                value: value,
                observationIndex: index
            )
        }
        return (ReportHeader(reportID: reportID, revision: revision, partial: partial), rows)
    }

    private static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    private static func describe(_ value: JSONValue) -> String {
        if case .number(let number) = value { return ExactDecimal.string(number.decimal) }
        return value.kind
    }
}

extension ReportSubmission {
    /// A digest of the rows in a canonical order: the same values in any order or format give
    /// the same digest.
    static func digest(_ rows: [ReportRow]) -> [UInt8] {
        // The bytes of "unit\u{1}period\u{1}element\u{1}value\u{0}" per row, in key order,
        // written into one buffer and hashed at once.
        let order = rows.indices.sorted {
            let (a, b) = (rows[$0], rows[$1])
            return (a.unit, a.element, a.period) < (b.unit, b.element, b.period)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows.count * 40)
        for index in order {
            let row = rows[index]
            bytes.append(contentsOf: row.unit.rawValue.utf8)
            bytes.append(1)
            row.period.appendText(to: &bytes)
            bytes.append(1)
            bytes.append(contentsOf: row.element.utf8)
            bytes.append(1)
            row.value.appendText(to: &bytes)
            bytes.append(0)
        }
        var hasher = SHA256()
        hasher.update(data: bytes)
        return Array(hasher.finalize())
    }
}
