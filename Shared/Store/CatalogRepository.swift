import DXModel
import Foundation
import Logging
import PostgresNIO

/// The `catalog` schema: written by `dx catalog load`, read by every service at start.
public struct CatalogRepository: Sendable {
    public let database: Database
    public let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What a load changed, per table.
    public struct LoadSummary: Sendable, CustomStringConvertible {
        public var changes: [(table: String, inserted: Int, updated: Int, deleted: Int)] = []

        public var isUnchanged: Bool { changes.allSatisfy { $0.inserted + $0.updated + $0.deleted == 0 } }

        public var description: String {
            changes.map { "\($0.table): \($0.inserted) inserted, \($0.updated) updated, \($0.deleted) deleted" }.joined(separator: "\n")
        }
    }

    /// Makes the catalog tables equal to the files, in one transaction: rows are copied into
    /// temporary tables, then only the differences are written, so loading the same files twice
    /// changes nothing and a changed file changes only what changed.
    public func load(_ files: CatalogFiles) async throws -> LoadSummary {
        let directory = UnitDirectory(files.units)
        let logger = self.logger
        return try await database.withTransaction { connection in
            var summary = LoadSummary()

            func sync(table: String, columns: [(name: String, type: String)], key: [String], rows: [[String?]]) async throws {
                let temp = "load_\(table)"
                let columnList = columns.map(\.name).joined(separator: ", ")
                try await StagingTable(name: temp, columns: columns).fill(rows, on: connection, logger: logger)
                let keyMatch = key.map { "t.\($0) = s.\($0)" }.joined(separator: " AND ")
                let nonKey = columns.map(\.name).filter { !key.contains($0) }
                let differs = nonKey.map { "t.\($0) IS DISTINCT FROM s.\($0)" }.joined(separator: " OR ")
                let deleted = try await count(connection, "WITH d AS (DELETE FROM catalog.\(table) t WHERE NOT EXISTS (SELECT 1 FROM \(temp) s WHERE \(keyMatch)) RETURNING 1) SELECT count(*) FROM d")
                let updated = nonKey.isEmpty ? 0 : try await count(connection, "WITH u AS (UPDATE catalog.\(table) t SET \(nonKey.map { "\($0) = s.\($0)" }.joined(separator: ", ")) FROM \(temp) s WHERE \(keyMatch) AND (\(differs)) RETURNING 1) SELECT count(*) FROM u")
                let inserted = try await count(connection, "WITH i AS (INSERT INTO catalog.\(table) (\(columnList)) SELECT \(columnList) FROM \(temp) s WHERE NOT EXISTS (SELECT 1 FROM catalog.\(table) t WHERE \(keyMatch)) RETURNING 1) SELECT count(*) FROM i")
                summary.changes.append((table, inserted, updated, deleted))
            }

            try await sync(table: "units", columns: [
                ("code", "text"), ("parent", "text"), ("level", "text"), ("tree", "text"), ("name", "text"), ("ascii", "text"),
                ("official_code", "text"), ("valid_from", "date"), ("valid_to", "date"), ("province", "text"), ("depth", "int"),
            ], key: ["code"], rows: files.units.map { unit in
                [unit.code.rawValue, unit.parent?.rawValue, unit.level.rawValue, unit.tree.rawValue, unit.name, unit.ascii, unit.officialCode,
                 unit.validFrom?.description, unit.validTo?.description, directory.province(of: unit.code)?.rawValue,
                 String(directory.depth(of: unit.code))]
            })
            try await sync(table: "successions", columns: [("old_code", "text"), ("new_code", "text"), ("kind", "text")],
                           key: ["old_code", "new_code"], rows: files.successions.map { [$0.old.rawValue, $0.new.rawValue, $0.kind.rawValue] })
            try await sync(table: "data_elements", columns: [
                ("code", "text"), ("name_vi", "text"), ("name_en", "text"), ("period_type", "text"), ("aggregation", "text"),
                ("value_type", "text"), ("weight", "text"),
            ], key: ["code"], rows: files.elements.map {
                [$0.code, $0.nameVi, $0.nameEn, $0.periodType.rawValue, $0.aggregation.rawValue, $0.valueType.rawValue, $0.weight]
            })
            try await sync(table: "indicators", columns: [
                ("code", "text"), ("name_vi", "text"), ("name_en", "text"), ("pillar", "text"), ("kind", "text"), ("numerator", "text"),
                ("denominator", "text"), ("factor", "numeric"), ("element", "text"), ("direction", "text"), ("unit", "text"),
            ], key: ["code"], rows: files.indicators.map {
                [$0.code, $0.nameVi, $0.nameEn, $0.pillar.rawValue, $0.kind.rawValue, $0.numerator, $0.denominator,
                 $0.factor.map(\.description), $0.element, $0.direction.rawValue, $0.unit]
            })
            try await sync(table: "targets", columns: [
                ("indicator", "text"), ("year", "int"), ("value", "numeric"), ("comparison", "text"), ("source", "text"), ("note", "text"),
            ], key: ["indicator", "year"], rows: files.targets.map {
                [$0.indicator, String($0.year), $0.value.description, $0.comparison.rawValue, $0.source, $0.note]
            })
            if let rules = files.alertRules {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                var rows: [[String?]] = []
                for (position, rule) in rules.enumerated() {
                    rows.append([rule.code, rule.kind.rawValue, String(position), String(decoding: try encoder.encode(rule), as: UTF8.self)])
                }
                try await sync(table: "alert_rules", columns: [("code", "text"), ("kind", "text"), ("position", "int"), ("definition", "jsonb")],
                               key: ["code"], rows: rows)
            }
            if !summary.isUnchanged {
                try await connection.query("INSERT INTO catalog.loads (checksum, summary) VALUES (\(String(files.units.count)), \(summary.description))", logger: logger)
            }
            return summary
        }
    }

    private func count(_ connection: PostgresConnection, _ sql: String) async throws -> Int {
        var result = 0
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { result = value }
        return result
    }

    /// The alert rules (catalog.alert_rules), in file order.
    public func readAlertRules() async throws -> [AlertRule] {
        var rules: [AlertRule] = []
        let rows = try await database.query("SELECT code, definition::text FROM catalog.alert_rules ORDER BY position, code")
        for try await (code, definition) in rows.decode((String, String).self) {
            do {
                rules.append(try JSONDecoder().decode(AlertRule.self, from: Data(definition.utf8)))
            } catch {
                throw StoreError.invalidData("catalog.alert_rules row \(code): \(MessageCoding.describe(error))")
            }
        }
        return rules
    }

    /// The catalog as the services use it.
    public func read() async throws -> Catalog {
        var units: [AdministrativeUnit] = []
        let unitRows = try await database.query("SELECT code, parent, level, tree, name, ascii, official_code, valid_from::text, valid_to::text FROM catalog.units")
        for try await (code, parent, level, tree, name, ascii, official, from, to) in unitRows.decode((String, String?, String, String, String, String, String, String?, String?).self) {
            guard let level = AdministrativeLevel(rawValue: level), let tree = UnitTree(rawValue: tree) else {
                throw StoreError.invalidData("catalog.units row \(code) has level '\(level)' or tree '\(tree)'")
            }
            units.append(AdministrativeUnit(code: UnitCode(code), parent: parent.map { UnitCode($0) }, level: level, tree: tree, name: name,
                                            ascii: ascii, officialCode: official, validFrom: from.flatMap { Day($0) }, validTo: to.flatMap { Day($0) }))
        }
        var successions: [Succession] = []
        for try await (old, new, kind) in try await database.query("SELECT old_code, new_code, kind FROM catalog.successions").decode((String, String, String).self) {
            successions.append(Succession(old: UnitCode(old), new: UnitCode(new), kind: Succession.Kind(rawValue: kind) ?? .whole))
        }
        var elements: [DataElement] = []
        let elementRows = try await database.query("SELECT code, name_vi, name_en, period_type, aggregation, value_type, weight FROM catalog.data_elements")
        for try await (code, nameVi, nameEn, periodType, aggregation, valueType, weight) in elementRows.decode((String, String, String, String, String, String, String?).self) {
            guard let periodType = PeriodType(rawValue: periodType), let aggregation = TimeAggregation(rawValue: aggregation),
                  let valueType = ValueType(rawValue: valueType) else {
                throw StoreError.invalidData("catalog.data_elements row \(code) is malformed")
            }
            elements.append(DataElement(code: code, nameVi: nameVi, nameEn: nameEn, periodType: periodType, aggregation: aggregation, valueType: valueType, weight: weight))
        }
        var indicators: [Indicator] = []
        let indicatorRows = try await database.query("SELECT code, name_vi, name_en, pillar, kind, numerator, denominator, factor::text, element, direction, unit FROM catalog.indicators")
        for try await row in indicatorRows.decode((String, String, String, String, String, String?, String?, String?, String?, String, String?).self) {
            let factor = row.7.map { Quantity.parse($0) }
            guard let pillar = Pillar(rawValue: row.3), let kind = Indicator.Kind(rawValue: row.4), let direction = Direction(rawValue: row.9),
                  factor != .some(nil) else {
                throw StoreError.invalidData("catalog.indicators row \(row.0) is malformed")
            }
            indicators.append(Indicator(code: row.0, nameVi: row.1, nameEn: row.2, pillar: pillar, kind: kind, numerator: row.5,
                                        denominator: row.6, factor: factor ?? nil, element: row.8, direction: direction, unit: row.10))
        }
        var targets: [Target] = []
        let targetRows = try await database.query("SELECT indicator, year, value::text, comparison, source, note FROM catalog.targets")
        for try await (indicator, year, valueText, comparison, source, note) in targetRows.decode((String, Int, String, String, String, String?).self) {
            guard let comparison = Target.Comparison(rawValue: comparison) else {
                throw StoreError.invalidData("catalog.targets row \(indicator) \(year) has comparison '\(comparison)'")
            }
            guard let value = Quantity.parse(valueText) else {
                throw StoreError.invalidData("catalog.targets row \(indicator) \(year) has value '\(valueText)'")
            }
            targets.append(Target(indicator: indicator, year: year, value: value, comparison: comparison, source: source, note: note))
        }
        guard !units.isEmpty else {
            throw StoreError.invalidData("the catalog is empty: run `dx catalog load` first")
        }
        return Catalog(units: units, successions: successions, elements: elements, indicators: indicators, targets: targets)
    }
}
