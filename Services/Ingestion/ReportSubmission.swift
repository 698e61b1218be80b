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

    /// What `check` finds: the valid rows, in the order given, and every problem.
    struct Checked {
        var rows: [ReportRow]
        var errors: [Problem.RowError]
        var outOfScope: [Problem.RowError]
        /// `rows`' indices in the digest's canonical order (unit, element, period), found from
        /// each unit's and element's rank among the report's names instead of comparing codes.
        var canonicalOrder: [Int]

        /// Identifies the rows' content whatever their order (`ReportSubmission.digest`).
        var contentDigest: [UInt8] { ReportSubmission.digest(rows, order: canonicalOrder) }
    }

    /// Valid rows, and every problem of every invalid one: a row with an unknown unit and a
    /// negative value gets both reported, so a client fixes a file in one round.
    func check(_ raws: [RawRow]) -> Checked {
        var rows: [ReportRow] = []
        rows.reserveCapacity(raws.count)
        var errors: [Problem.RowError] = []
        var outOfScope: [Problem.RowError] = []
        // The units and elements the report names, each looked up in the catalog once and given
        // a position here (0: not read or not in the catalog), instead of once per row.
        var names = ReportNames()
        // Each accepted row's cell by positions: finds a cell given twice, and a numerator's denominator.
        var rowCells: [ReportNames.Cell] = []
        rowCells.reserveCapacity(raws.count)
        var rowIndex: [ReportNames.Cell: Int] = [:]
        rowIndex.reserveCapacity(raws.count)
        // Most rows of a report repeat the period of the row before: parsed once.
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
            var unit = 0
            if let code = raw.unit, !code.isEmpty {
                unit = names.unit(code, catalog: catalog, scope: scope)
                if unit == 0 { fail("unit", "unit '\(Self.quoted(code))' is not in the catalog") }
            } else {
                fail("unit", "unit is missing")
            }
            var element = 0
            if let code = raw.element, !code.isEmpty {
                element = names.element(code, catalog: catalog)
                if element == 0 { fail("element", "data element '\(Self.quoted(code))' is not in the catalog") }
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
            // The catalog's rules, as far as the fields that could be read allow; their reasons
            // are written only for a row that breaks one.
            if !names.passesRules(unit: unit, element: element, period: period, value: value, today: today) {
                for violation in ObservationRules.problems(unit: names.units[unit], period: period, element: names.elements[element], value: value, today: today) {
                    fail(violation.field.rawValue, violation.reason)
                }
            }
            if unit != 0 && !names.unitInScope[unit] {
                outOfScope.append(Problem.RowError(line: raw.line, field: "unit", reason: Self.outsideScope(names.units[unit]!, scope: scope, catalog: catalog),
                                                   pointer: raw.pointerBase.map { "\($0)/unit" }))
                continue
            }
            guard !failed, unit != 0, element != 0, let period, let value else { continue }
            let cell = ReportNames.Cell(unit: unit, element: element, period: period)
            if let first = rowIndex.updateValue(rows.count, forKey: cell) {
                rowIndex[cell] = first
                fail("element", "\(names.elements[element]!.code) for \(names.units[unit]!.code) \(period) is given twice (first on line \(rows[first].line))")
                continue
            }
            rows.append(ReportRow(line: raw.line, unit: names.unitCodes[unit], period: period, element: names.elementCodes[element], value: value))
            rowCells.append(cell)
        }

        // A numerator above its denominator in the same report cannot be right.
        let denominators = names.denominators(catalog: catalog)
        for (row, cell) in zip(rows, rowCells) {
            for denominator in denominators[cell.element] {
                guard let index = rowIndex[ReportNames.Cell(unit: cell.unit, element: denominator, period: cell.period)] else { continue }
                let total = rows[index]
                guard row.value > total.value else { continue }
                errors.append(Problem.RowError(
                    line: row.line, field: "value",
                    reason: "\(row.element) (\(row.value)) is above \(total.element) (\(total.value), line \(total.line)) for \(row.unit) \(row.period)",
                    pointer: nil
                ))
            }
        }
        if !errors.isEmpty {
            let badLines = Set(errors.map(\.line))
            let kept = rows.indices.filter { !badLines.contains(rows[$0].line) }
            rows = kept.map { rows[$0] }
            rowCells = kept.map { rowCells[$0] }
        }
        let ranks = names.ranks()
        let canonicalOrder = rowCells.indices.sorted { a, b in
            let (x, y) = (rowCells[a], rowCells[b])
            let (xu, yu) = (ranks.units[x.unit], ranks.units[y.unit])
            if xu != yu { return xu < yu }
            let (xe, ye) = (ranks.elements[x.element], ranks.elements[y.element])
            if xe != ye { return xe < ye }
            return x.period < y.period
        }
        return Checked(rows: rows, errors: errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }, outOfScope: outOfScope,
                       canonicalOrder: canonicalOrder)
    }

    /// Why a row or event for `unit` is refused to a token for `scope`.
    static func outsideScope(_ unit: AdministrativeUnit, scope: UnitCode, catalog: Catalog) -> String {
        "\(unit.name) (\(unit.code)) is outside the token's unit \(catalog.units[scope]?.name ?? scope.rawValue) (\(scope))"
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

/// The units and elements one report names, each looked up in the catalog once and numbered
/// from 1 in the order they first appear (0 is "not read or not in the catalog", whose entry is
/// nil). A row's cell is then three small numbers instead of two strings to hash.
struct ReportNames {
    struct Cell: Hashable {
        var unit: Int
        var element: Int
        var period: Period
    }

    private(set) var units: [AdministrativeUnit?] = [nil]
    /// Whether each unit lies within the token's unit.
    private(set) var unitInScope: [Bool] = [true]
    private(set) var elements: [DataElement?] = [nil]
    /// The catalog's codes and what the rules need, by position, so a row copies none of the
    /// units and elements above.
    private(set) var unitCodes: [UnitCode] = [UnitCode("")]
    private(set) var elementCodes: [String] = [""]
    private var lifetimes: [(validFrom: Day?, validTo: Day?)] = [(nil, nil)]
    private var kinds: [(periodType: PeriodType, valueType: ValueType)] = [(.month, .count)]
    private var unitPositions: [String: Int] = [:]
    private var elementPositions: [String: Int] = [:]
    /// The unit of the row before: most reports give a unit's rows one after another.
    private var lastUnit: (code: String, position: Int)?

    mutating func unit(_ code: String, catalog: Catalog, scope: UnitCode) -> Int {
        if let lastUnit, lastUnit.code == code { return lastUnit.position }
        let position = lookUpUnit(code, catalog: catalog, scope: scope)
        lastUnit = (code, position)
        return position
    }

    private mutating func lookUpUnit(_ code: String, catalog: Catalog, scope: UnitCode) -> Int {
        if let position = unitPositions[code] { return position }
        guard let place = catalog.units.place(of: UnitCode(code)) else { return 0 }
        units.append(place.unit)
        unitInScope.append(place.isWithin(subtreeOf: scope))
        unitCodes.append(place.unit.code)
        lifetimes.append((place.unit.validFrom, place.unit.validTo))
        unitPositions[code] = units.count - 1
        return units.count - 1
    }

    mutating func element(_ code: String, catalog: Catalog) -> Int {
        if let position = elementPositions[code] { return position }
        guard let element = catalog.elements[code] else { return 0 }
        elements.append(element)
        elementCodes.append(element.code)
        kinds.append((element.periodType, element.valueType))
        elementPositions[code] = elements.count - 1
        return elements.count - 1
    }

    /// Whether a row of a unit and an element found in the catalog, with a period and a value,
    /// breaks none of the catalog's rules (`ObservationRules.passes`). False when a field is
    /// missing, so the caller asks `ObservationRules.problems` for whatever can be said.
    func passesRules(unit: Int, element: Int, period: Period?, value: Quantity?, today: Day) -> Bool {
        guard unit != 0, element != 0, let period, let value else { return false }
        let subject = ObservationRules.Subject(validFrom: lifetimes[unit].validFrom, validTo: lifetimes[unit].validTo,
                                               periodType: kinds[element].periodType, valueType: kinds[element].valueType)
        return ObservationRules.passes(subject, period: period, value: value, today: today)
    }

    /// Each position's rank among the report's codes in code order (equal codes, equal ranks):
    /// sorting rows by ranks orders them as sorting by their codes would.
    func ranks() -> (units: [Int], elements: [Int]) {
        func ranks<Code: Comparable>(_ codes: [Code]) -> [Int] {
            var ranks = [Int](repeating: 0, count: codes.count)
            var rank = 0
            let order = codes.indices.sorted { codes[$0] < codes[$1] }
            for (i, position) in order.enumerated() {
                if i > 0 && codes[order[i - 1]] < codes[position] { rank += 1 }
                ranks[position] = rank
            }
            return ranks
        }
        return (ranks(unitCodes), ranks(elementCodes))
    }

    /// Per element position, the positions of the denominators it is divided by that the report
    /// also names (`Catalog.denominatorsByNumerator`, in its order).
    func denominators(catalog: Catalog) -> [[Int]] {
        elements.map { element in
            guard let element, let codes = catalog.denominatorsByNumerator[element.code] else { return [] }
            return codes.compactMap { elementPositions[$0] }
        }
    }
}
