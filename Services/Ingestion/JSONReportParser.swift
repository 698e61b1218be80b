import Crypto
import DXModel
import Foundation

/// Reads `POST /v1/reports` JSON bodies:
/// `{"reportId": "...", "revision": 1, "unit": "...", "period": "...", "observations": [{"unit", "period", "element", "value"}]}`
/// where the top-level `unit` and `period` are defaults for observations that leave them out.
enum JSONReportParser {
    /// `partial` may also come as the query parameter `?partial=true`; the body's field wins.
    static func parse(_ body: [UInt8], partialByDefault: Bool = false) throws(Problem) -> (header: ReportHeader, rows: [ReportValidator.RawRow]) {
        // The observations are read into rows as the body is read; a row's missing unit and
        // period are filled from the document's defaults at the end, which may come after them.
        var rows: [ReportValidator.RawRow] = []
        var fields = [JSONValue?](repeating: nil, count: ObservationField.allCases.count)
        let parsed: (object: JSONValue, streamedArray: Bool)
        do throws(JSONSyntaxError) {
            parsed = try JSONParser.parseObject(body, streaming: "observations", restart: { rows.removeAll() }) { (parser, index) throws(JSONSyntaxError) in
                let item = try parser.selectedMembers(ObservationField.names, into: &fields, depth: JSONParser.streamedElementDepth)
                rows.append(row(index: index, notAnObject: item, fields: fields))
            }
        } catch {
            throw syntaxProblem(error)
        }
        let document = parsed.object
        guard case .object = document else { throw notAnObject(document) }
        var (header, headerErrors) = header(of: document, partialByDefault: partialByDefault)
        guard parsed.streamedArray else {
            headerErrors.append(Self.observationsMissing)
            throw Problem.invalid(headerErrors, rows: 0)
        }
        if !headerErrors.isEmpty { throw Problem.invalid(headerErrors, rows: rows.count) }

        if let defaultUnit = string(document["unit"]) {
            for i in rows.indices where rows[i].unit == nil && rows[i].shapeError == nil { rows[i].unit = defaultUnit }
        }
        if let defaultPeriod = string(document["period"]) {
            for i in rows.indices where rows[i].period == nil && rows[i].shapeError == nil { rows[i].period = defaultPeriod }
        }
        return (header, rows)
    }

    static func syntaxProblem(_ error: JSONSyntaxError) -> Problem {
        Problem.badRequest("the body is not valid JSON: \(error)",
                           errors: [.init(line: error.line, field: "body", reason: "not valid JSON: column \(error.column): \(error.reason)")])
    }

    static func notAnObject(_ document: JSONValue) -> Problem {
        Problem.badRequest("the body must be a JSON object, not \(document.kind)")
    }

    static let observationsMissing = Problem.RowError(line: 0, field: "observations", reason: "observations must be an array of {unit, period, element, value}",
                                                      pointer: "/observations")

    /// The report's id, revision and partial flag from the document's members, and every problem
    /// with them and with the `unit` and `period` defaults.
    static func header(of document: JSONValue, partialByDefault: Bool) -> (header: ReportHeader, errors: [Problem.RowError]) {
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
        return (ReportHeader(reportID: reportID, revision: revision, partial: partial), headerErrors)
    }

    /// The members of an observation the rows are made of.
    private enum ObservationField: Int, CaseIterable {
        case unit, period, element, value
        static let names = allCases.map { "\($0)" }
    }

    /// One observation as a raw row: `notAnObject` is the observation when it was no object.
    private static func row(index: Int, notAnObject item: JSONValue?, fields: [JSONValue?]) -> ReportValidator.RawRow {
        if let item { return shapeless(item, index: index) }
        return ReportValidator.RawRow(
            line: index + 1,
            unit: string(fields[ObservationField.unit.rawValue]),
            period: string(fields[ObservationField.period.rawValue]),
            element: string(fields[ObservationField.element.rawValue]),
            value: rawValue(fields[ObservationField.value.rawValue]),
            observationIndex: index
        )
    }

    /// The row of an observation that is no object.
    static func shapeless(_ item: JSONValue, index: Int) -> ReportValidator.RawRow {
        ReportValidator.RawRow(line: index + 1, value: .missing, observationIndex: index,
                               shapeError: ("observation", "an observation must be an object {unit, period, element, value}, not \(item.kind)"))
    }

    /// An observation's `value` member as the validator reads it.
    static func rawValue(_ value: JSONValue?) -> ReportValidator.RawValue {
        switch value {
        case .number(let number)?: .number(number)
        case nil, .null?: .missing
        case .string(let text)? where ReportValidator.isNonFinite(text.trimmingCharacters(in: .whitespaces)): .text(text)
        case let other?: .wrongType(other.kind)
        }
    }

    static func string(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    private static func describe(_ value: JSONValue) -> String {
        if case .number(let number) = value { return ExactDecimal.string(number.decimal) }
        return value.kind
    }
}

extension ReportSubmission {
    /// A digest of the rows in a canonical order, `order` (their indices by unit, element and
    /// period; see `ReportValidator.Checked`): the same values in any order or format give the
    /// same digest.
    static func digest(_ rows: [ReportRow], order: [Int]) -> [UInt8] {
        // The bytes of "unit\u{1}period\u{1}element\u{1}value\u{0}" per row, in key order,
        // written into one buffer and hashed at once.
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
