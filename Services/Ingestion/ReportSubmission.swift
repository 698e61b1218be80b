import DXModel
import Foundation

/// One value of a report, with the line it came from.
struct ReportRow: Sendable, Hashable {
    var line: Int
    var unit: UnitCode
    var period: Period
    var element: String
    var value: Decimal

    var key: CellKey { CellKey(unit: unit, period: period, element: element) }
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
        !id.isEmpty && id.utf8.count <= 200 && id.unicodeScalars.allSatisfy {
            ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "._-:".unicodeScalars.contains($0)
        }
    }

    /// A raw row: each field as text or number, `pointer` locating it for JSON bodies.
    struct RawRow {
        var line: Int
        var unit: String?
        var period: String?
        var element: String?
        var value: RawValue
        var pointerBase: String?
    }

    enum RawValue {
        case number(Decimal)
        case text(String)
        case missing
        case wrongType(String)
    }

    /// Valid rows, and a problem for every field of every invalid one.
    func check(_ raws: [RawRow]) -> (rows: [ReportRow], errors: [Problem.RowError], outOfScope: [Problem.RowError]) {
        var rows: [ReportRow] = []
        var errors: [Problem.RowError] = []
        var outOfScope: [Problem.RowError] = []
        var firstLine: [CellKey: Int] = [:]

        for raw in raws {
            func fail(_ field: String, _ reason: String) {
                errors.append(Problem.RowError(line: raw.line, field: field, reason: reason, pointer: raw.pointerBase.map { "\($0)/\(field)" }))
            }
            var ok = true
            var unit: AdministrativeUnit?
            if let code = raw.unit, !code.isEmpty {
                unit = catalog.units[UnitCode(code)]
                if unit == nil { fail("unit", "unit '\(code)' is not in the catalog"); ok = false }
            } else {
                fail("unit", "unit is missing"); ok = false
            }
            var element: DataElement?
            if let code = raw.element, !code.isEmpty {
                element = catalog.elements[code]
                if element == nil { fail("element", "data element '\(code)' is not in the catalog"); ok = false }
            } else {
                fail("element", "element is missing"); ok = false
            }
            var period: Period?
            if let text = raw.period, !text.isEmpty {
                period = Period(text)
                if period == nil { fail("period", "'\(text)' is not a period (2023, 2023-Q4 or 2023-10)"); ok = false }
            } else {
                fail("period", "period is missing"); ok = false
            }
            var value: Decimal?
            switch raw.value {
            case .number(let number): value = number
            case .text(let text):
                let trimmed = text.trimmingCharacters(in: .whitespaces)
                if trimmed.isEmpty {
                    fail("value", "value is missing")
                } else if let number = ExactDecimal.parse(trimmed) {
                    value = number
                } else if ["nan", "inf", "infinity", "-inf", "-infinity", "+infinity"].contains(trimmed.lowercased()) {
                    fail("value", "'\(trimmed)' is not a finite number")
                } else {
                    fail("value", "'\(trimmed)' is not a number (use a dot for decimals and no thousands separators)")
                }
                if value == nil { ok = false }
            case .missing: fail("value", "value is missing"); ok = false
            case .wrongType(let kind): fail("value", "value must be a number, not \(kind)"); ok = false
            }
            guard ok, let unit, let element, let period, let value else { continue }

            if let reason = ObservationRules.problem(unit: unit.code, period: period, element: element.code, value: value, catalog: catalog, today: today) {
                let field = reason.contains("negative") || reason.contains("percentage") ? "value"
                    : reason.contains("reported per") || reason.contains("not started") ? "period" : "unit"
                fail(field, reason)
                continue
            }
            if !catalog.units.isWithin(unit.code, subtreeOf: scope) {
                outOfScope.append(Problem.RowError(line: raw.line, field: "unit",
                                                   reason: "\(unit.name) (\(unit.code)) is outside the token's unit \(catalog.units[scope]?.name ?? scope.rawValue) (\(scope))",
                                                   pointer: raw.pointerBase.map { "\($0)/unit" }))
                continue
            }
            let row = ReportRow(line: raw.line, unit: unit.code, period: period, element: element.code, value: value)
            if let first = firstLine[row.key] {
                fail("element", "\(element.code) for \(unit.code) \(period) is given twice (first on line \(first))")
                continue
            }
            firstLine[row.key] = raw.line
            rows.append(row)
        }

        // A numerator above its denominator in the same report cannot be right.
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0.key, $0) })
        for indicator in catalog.indicators.values.sorted(by: { $0.code < $1.code }) where indicator.kind == .ratio {
            guard let numerator = indicator.numerator, let denominator = indicator.denominator else { continue }
            for row in rows where row.element == numerator {
                guard let total = byKey[CellKey(unit: row.unit, period: row.period, element: denominator)], row.value > total.value else { continue }
                errors.append(Problem.RowError(
                    line: row.line, field: "value",
                    reason: "\(numerator) (\(ExactDecimal.string(row.value))) is above \(denominator) (\(ExactDecimal.string(total.value)), line \(total.line)) for \(row.unit) \(row.period)",
                    pointer: nil
                ))
            }
        }
        let badLines = Set(errors.map(\.line))
        return (rows.filter { !badLines.contains($0.line) }, errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }, outOfScope)
    }
}
