import Foundation

/// The catalog/ directory's files, parsed from their text. Reading the files is the caller's
/// business (DXModel does no I/O); every parse error names the file, line and field.
public struct CatalogFiles: Sendable {
    public static let currentUnits = "units/current.csv"
    public static let pre2025Units = "units/pre2025.csv"
    public static let successions = "units/succession.csv"
    public static let elements = "data-elements.json"
    public static let indicators = "indicators.json"
    public static let targets = "targets.json"
    public static let seedObservations = "seed/observations.csv"
    public static let seedChecks = "seed/checks.csv"
    public static let alertRules = "alert-rules.json"

    public static let required = [currentUnits, pre2025Units, successions, elements, indicators, targets]
    /// Read when present: the seed dataset and the alert rules.
    public static let optional = [seedObservations, seedChecks, alertRules]

    public var units: [AdministrativeUnit]
    public var successions: [Succession]
    public var elements: [DataElement]
    public var indicators: [Indicator]
    public var targets: [Target]
    public var seedObservations: [SeedObservation]
    public var seedChecks: [SeedCheck]
    /// catalog/alert-rules.json; nil when the file is absent (the rules table is left alone).
    public var alertRules: [AlertRule]? = nil

    public var catalog: Catalog {
        Catalog(units: units, successions: successions, elements: elements, indicators: indicators, targets: targets)
    }

    /// Parses the files given as `relative path → text`. The seed files are optional.
    public static func parse(_ files: [String: String]) throws(CatalogFileError) -> CatalogFiles {
        func text(_ name: String) throws(CatalogFileError) -> String {
            guard let text = files[name] else { throw CatalogFileError(file: name, line: nil, reason: "file is missing") }
            return text
        }
        var units = try parseUnits(text(currentUnits), file: currentUnits, tree: .current)
        units += try parseUnits(text(pre2025Units), file: pre2025Units, tree: .pre2025)
        return CatalogFiles(
            units: units,
            successions: try parseSuccessions(text(successions)),
            elements: try decodeJSON([DataElement].self, text(elements), file: elements),
            indicators: try decodeJSON([Indicator].self, text(indicators), file: indicators),
            targets: try decodeJSON([Target].self, text(targets), file: targets),
            seedObservations: try files[seedObservations].map { text throws(CatalogFileError) in try parseSeedObservations(text) } ?? [],
            seedChecks: try files[seedChecks].map { text throws(CatalogFileError) in try parseSeedChecks(text) } ?? [],
            alertRules: try files[alertRules].map { text throws(CatalogFileError) in try decodeJSON([AlertRule].self, text, file: alertRules) }
        )
    }

    static func table(_ text: String, file: String, required: [String]) throws(CatalogFileError) -> CSVTable {
        do {
            return try CSVTable(text: text, required: required)
        } catch {
            throw CatalogFileError(file: file, line: error.line, reason: error.reason)
        }
    }

    static func parseUnits(_ text: String, file: String, tree: UnitTree) throws(CatalogFileError) -> [AdministrativeUnit] {
        let table = try table(text, file: file, required: ["code", "parent", "level", "name", "ascii", "official_code", "valid_from", "valid_to"])
        var units: [AdministrativeUnit] = []
        units.reserveCapacity(table.rows.count)
        for row in table.rows {
            func day(_ column: String) throws(CatalogFileError) -> Day? {
                let value = table.value(row, column)
                if value.isEmpty { return nil }
                guard let day = Day(value) else { throw CatalogFileError(file: file, line: row.line, reason: "\(column) '\(value)' is not a date (YYYY-MM-DD)") }
                return day
            }
            let code = table.value(row, "code")
            guard !code.isEmpty else { throw CatalogFileError(file: file, line: row.line, reason: "code is empty") }
            guard let level = AdministrativeLevel(rawValue: table.value(row, "level")) else {
                throw CatalogFileError(file: file, line: row.line, reason: "level '\(table.value(row, "level"))' is not one of country, province, district, commune")
            }
            let parent = table.value(row, "parent")
            units.append(AdministrativeUnit(
                code: UnitCode(code), parent: parent.isEmpty ? nil : UnitCode(parent), level: level, tree: tree,
                name: table.value(row, "name"), ascii: table.value(row, "ascii"), officialCode: table.value(row, "official_code"),
                validFrom: try day("valid_from"), validTo: try day("valid_to")
            ))
        }
        return units
    }

    static func parseSuccessions(_ text: String) throws(CatalogFileError) -> [Succession] {
        let table = try table(text, file: successions, required: ["old_code", "new_code", "kind"])
        var result: [Succession] = []
        for row in table.rows {
            guard let kind = Succession.Kind(rawValue: table.value(row, "kind")) else {
                throw CatalogFileError(file: successions, line: row.line, reason: "kind '\(table.value(row, "kind"))' is not whole or split")
            }
            result.append(Succession(old: UnitCode(table.value(row, "old_code")), new: UnitCode(table.value(row, "new_code")), kind: kind))
        }
        return result
    }

    static func parseSeedObservations(_ text: String) throws(CatalogFileError) -> [SeedObservation] {
        let table = try table(text, file: seedObservations, required: ["report_id", "unit", "period", "element", "value", "source_file", "quote"])
        var result: [SeedObservation] = []
        for row in table.rows {
            let periodText = table.value(row, "period")
            guard let period = Period(periodText) else {
                throw CatalogFileError(file: seedObservations, line: row.line, reason: "period '\(periodText)' is not 2023, 2023-Q4 or 2023-10")
            }
            let valueText = table.value(row, "value")
            guard let value = Quantity.parse(valueText) else {
                throw CatalogFileError(file: seedObservations, line: row.line, reason: "value '\(valueText)' is not a number")
            }
            result.append(SeedObservation(
                line: row.line, reportID: table.value(row, "report_id"), unit: UnitCode(table.value(row, "unit")), period: period,
                element: table.value(row, "element"), value: value, sourceFile: table.value(row, "source_file"), quote: table.value(row, "quote")
            ))
        }
        return result
    }

    static func parseSeedChecks(_ text: String) throws(CatalogFileError) -> [SeedCheck] {
        let table = try table(text, file: seedChecks, required: ["unit", "period", "indicator", "printed", "source_file", "quote"])
        var result: [SeedCheck] = []
        for row in table.rows {
            let periodText = table.value(row, "period")
            guard let period = Period(periodText) else {
                throw CatalogFileError(file: seedChecks, line: row.line, reason: "period '\(periodText)' is not 2023, 2023-Q4 or 2023-10")
            }
            result.append(SeedCheck(
                line: row.line, unit: UnitCode(table.value(row, "unit")), period: period, indicator: table.value(row, "indicator"),
                printed: table.value(row, "printed"), sourceFile: table.value(row, "source_file"), quote: table.value(row, "quote")
            ))
        }
        return result
    }

    static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, file: String) throws(CatalogFileError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch let DecodingError.dataCorrupted(context) {
            throw CatalogFileError(file: file, line: nil, reason: "\(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.keyNotFound(key, context) {
            throw CatalogFileError(file: file, line: nil, reason: "\(path(context.codingPath)): missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw CatalogFileError(file: file, line: nil, reason: "\(path(context.codingPath)): \(context.debugDescription)")
        } catch let DecodingError.valueNotFound(_, context) {
            throw CatalogFileError(file: file, line: nil, reason: "\(path(context.codingPath)): \(context.debugDescription)")
        } catch {
            throw CatalogFileError(file: file, line: nil, reason: "\(error)")
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

public struct CatalogFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var reason: String
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

/// One figure from a seed article, at the unit and period it describes.
public struct SeedObservation: Sendable, Hashable {
    public var line: Int
    public var reportID: String
    public var unit: UnitCode
    public var period: Period
    public var element: String
    public var value: Quantity
    public var sourceFile: String
    public var quote: String
}

/// A percentage an article prints that can be recomputed from two recorded counts.
public struct SeedCheck: Sendable, Hashable {
    public var line: Int
    public var unit: UnitCode
    public var period: Period
    public var indicator: String
    /// As printed: "79%", "94,87%", or a fraction "17/17".
    public var printed: String
    public var sourceFile: String
    public var quote: String
}
