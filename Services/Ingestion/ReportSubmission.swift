import DXModel
import Foundation

/// One value of a report, with the line it came from.
struct ReportRow: Sendable, Hashable {
    var line: Int
    var unit: UnitCode
    var period: Period
    var element: String
    var value: Quantity

    var key: CellKey { CellKey(unit: unit, period: period, element: element) }
}

/// What identifies a submission: the client's report id and revision, and whether the client
/// asked for partial acceptance.
struct ReportHeader: Sendable {
    static let maximumRevision = 1_000_000

    var reportID: String
    var revision: Int
    var partial: Bool
}

/// A report as submitted, checked against the catalog and the token's unit.
struct ReportSubmission: Sendable {
    var reportID: String
    var revision: Int
    var rows: [ReportRow]
    /// Rows refused, when the client asked for partial acceptance.
    var rejected: [Problem.RowError] = []
    /// Identifies the content, so resubmitting the same revision can be told from a conflicting one.
    var contentDigest: [UInt8]
}

/// The checks every report row goes through, whatever the format it came in. Collects every
/// problem rather than stopping at the first.
struct ReportValidator {
    let catalog: Catalog
    let scope: UnitCode
    let today: Day

    static let reportIDPattern = "letters, digits and . _ - : (at most 200)"

    static func isValidReportID(_ id: String) -> Bool {
        // ASCII only, so the bytes decide (a byte of a non-ASCII character is ≥ 0x80 and refused).
        !id.isEmpty && id.utf8.count <= 200 && id.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: ":"): true
            default: false
            }
        }
    }

    /// A raw row: each field as text or number, `pointer` locating it for JSON bodies.
    struct RawRow {
        var line: Int
        var unit: String?
        var period: String?
        var element: String?
        var value: RawValue
        /// The row's index in a JSON body's `observations`; nil for CSV.
        var observationIndex: Int?
        /// Where the row is in a JSON body, built only for a row with a problem.
        var pointerBase: String? { observationIndex.map { "/observations/\($0)" } }
        /// Set when the row is not even shaped like an observation (a JSON number instead of an
        /// object, a CSV row with more fields than the header): the field to blame and why.
        var shapeError: (field: String, reason: String)?

        init(line: Int, unit: String? = nil, period: String? = nil, element: String? = nil, value: RawValue, observationIndex: Int? = nil,
             shapeError: (field: String, reason: String)? = nil) {
            self.line = line
            self.unit = unit
            self.period = period
            self.element = element
            self.value = value
            self.observationIndex = observationIndex
            self.shapeError = shapeError
        }
    }

    enum RawValue {
        case number(JSONNumber)
        case text(String)
        case missing
        case wrongType(String)
    }

    /// Valid rows, and every problem of every invalid one: a row with an unknown unit and a
    /// negative value gets both reported, so a client fixes a file in one round.
    func check(_ raws: [RawRow]) -> (rows: [ReportRow], errors: [Problem.RowError], outOfScope: [Problem.RowError]) {
        var rows: [ReportRow] = []
        var errors: [Problem.RowError] = []
        var outOfScope: [Problem.RowError] = []
        // Each accepted row's index by cell: finds a cell given twice, and a numerator's denominator.
        var rowIndex: [CellKey: Int] = [:]
        rowIndex.reserveCapacity(raws.count)
        // Most rows of a report repeat the unit and period of the row before: looked up once.
        var lastUnit: (code: String, unit: AdministrativeUnit?, inScope: Bool)?
        var lastPeriod: (text: String, period: Period?)?

        for raw in raws {
            var failed = false
            func fail(_ field: String, _ reason: String) {
                failed = true
                errors.append(Problem.RowError(line: raw.line, field: field, reason: reason, pointer: raw.pointerBase.map { "\($0)/\(field)" }))
            }
            if let shape = raw.shapeError {
                errors.append(Problem.RowError(line: raw.line, field: shape.field, reason: shape.reason, pointer: raw.pointerBase))
                continue
            }
            var unit: AdministrativeUnit?
            var inScope = true
            if let code = raw.unit, !code.isEmpty {
                if let last = lastUnit, last.code == code {
                    (unit, inScope) = (last.unit, last.inScope)
                } else {
                    unit = catalog.units[UnitCode(code)]
                    inScope = unit.map { catalog.units.isWithin($0.code, subtreeOf: scope) } ?? true
                    lastUnit = (code, unit, inScope)
                }
                if unit == nil { fail("unit", "unit '\(Self.quoted(code))' is not in the catalog") }
            } else {
                fail("unit", "unit is missing")
            }
            var element: DataElement?
            if let code = raw.element, !code.isEmpty {
                element = catalog.elements[code]
                if element == nil { fail("element", "data element '\(Self.quoted(code))' is not in the catalog") }
            } else {
                fail("element", "element is missing")
            }
            var period: Period?
            if let text = raw.period, !text.isEmpty {
                if let last = lastPeriod, last.text == text {
                    period = last.period
                } else {
                    period = Period(text)
                    lastPeriod = (text, period)
                }
                if period == nil { fail("period", "'\(Self.quoted(text))' is not a period (2023, 2023-Q4 or 2023-10)") }
            } else {
                fail("period", "period is missing")
            }
            var value: Quantity?
            switch raw.value {
            case .number(let number) where number.quantity == nil && (number.decimal.isNaN || !number.decimal.isFinite):
                fail("value", "the value is not a finite number")
            case .number(let number):
                if let quantity = number.quantity {
                    value = quantity
                } else {
                    fail("value", "\(ExactDecimal.string(number.decimal)) \(Self.outOfRange)")
                }
            case .text(let text):
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty {
                    fail("value", "value is missing")
                } else if let number = Quantity.parse(trimmed) {
                    value = number
                } else if let number = ExactDecimal.parse(trimmed), !number.isNaN, number.isFinite {
                    fail("value", "'\(Self.quoted(trimmed))' \(Self.outOfRange)")
                } else if Self.isNonFinite(trimmed) {
                    fail("value", "'\(Self.quoted(trimmed))' is not a finite number")
                } else {
                    fail("value", "'\(Self.quoted(trimmed))' is not a number (use a dot for decimals and no thousands separators)")
                }
            case .missing: fail("value", "value is missing")
            case .wrongType(let kind): fail("value", "value must be a number, not \(kind)")
            }
            // The catalog's rules, as far as the fields that could be read allow.
            for violation in ObservationRules.problems(unit: unit, period: period, element: element, value: value, today: today) {
                fail(violation.field.rawValue, violation.reason)
            }
            if let unit, !inScope {
                outOfScope.append(Problem.RowError(line: raw.line, field: "unit",
                                                   reason: "\(unit.name) (\(unit.code)) is outside the token's unit \(catalog.units[scope]?.name ?? scope.rawValue) (\(scope))",
                                                   pointer: raw.pointerBase.map { "\($0)/unit" }))
                continue
            }
            guard !failed, let unit, let element, let period, let value else { continue }
            let row = ReportRow(line: raw.line, unit: unit.code, period: period, element: element.code, value: value)
            if let first = rowIndex.updateValue(rows.count, forKey: row.key) {
                rowIndex[row.key] = first
                fail("element", "\(element.code) for \(unit.code) \(period) is given twice (first on line \(rows[first].line))")
                continue
            }
            rows.append(row)
        }

        // A numerator above its denominator in the same report cannot be right.
        let denominators = catalog.denominatorsByNumerator
        for row in rows {
            guard let codes = denominators[row.element] else { continue }
            for denominator in codes {
                guard let index = rowIndex[CellKey(unit: row.unit, period: row.period, element: denominator)] else { continue }
                let total = rows[index]
                guard row.value > total.value else { continue }
                errors.append(Problem.RowError(
                    line: row.line, field: "value",
                    reason: "\(row.element) (\(row.value)) is above \(denominator) (\(total.value), line \(total.line)) for \(row.unit) \(row.period)",
                    pointer: nil
                ))
            }
        }
        let badLines = Set(errors.map(\.line))
        return (rows.filter { !badLines.contains($0.line) }, errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }, outOfScope)
    }

    /// Why a well-formed number is refused: figures are held exactly as `Quantity`.
    static let outOfRange = "has more than 12 digits after the point or is not below 10^26"

    /// NaN and the infinities, in the spellings spreadsheets and programming languages write them.
    static func isNonFinite(_ text: String) -> Bool {
        ["nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞", "-∞"].contains(text.lowercased())
    }

    /// Client text echoed in a reason, cut short and without control characters, so an error
    /// message stays readable whatever was sent.
    static func quoted(_ text: String) -> String {
        let cleaned = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
        return cleaned.count > 80 ? String(cleaned.prefix(80)) + "…" : cleaned
    }
}
