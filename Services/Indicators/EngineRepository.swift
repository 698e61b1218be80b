import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// The `engine` schema: what dx-indicators knows, one row per unit, element (or indicator) and
/// year. Every read and write runs on the batch's transaction connection, so what it reads
/// includes what the batch wrote.
struct EngineRepository: Sendable {
    let catalog: Catalog
    let logger: Logger

    /// The province a unit's rows are filed under; the country files under itself.
    func province(of unit: UnitCode) -> UnitCode {
        catalog.units.province(of: unit) ?? unit
    }

    // MARK: - Reading

    /// Every cell and indicator value of one province.
    func loadProvince(_ province: UnitCode, on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(province.rawValue)
        return try await load(on: connection, cellFilter: "province = $1", indicatorFilter: "province = $1", binds: binds)
    }

    /// What the country pass reads: the country's rows for the given elements and years, and its
    /// children's rows for the same elements and years.
    func loadCountry(elements: Set<String>, years: Set<Int>, on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(UnitCode.country.rawValue)
        try binds.append(Array(elements), context: .default)
        try binds.append(years.map { $0 }, context: .default)
        try binds.append(catalog.units.children(of: .country).map(\.rawValue), context: .default)
        return try await load(
            on: connection,
            cellFilter: "(unit = $1 OR unit = ANY($4)) AND element = ANY($2) AND year = ANY($3)",
            indicatorFilter: "unit = $1 AND year = ANY($3) AND $2::text[] IS NOT NULL AND $4::text[] IS NOT NULL",
            binds: binds
        )
    }

    /// Every province with rows.
    func provinces(on connection: PostgresConnection) async throws -> [UnitCode] {
        var result: [UnitCode] = []
        for try await province in try await connection.query("SELECT DISTINCT province FROM engine.cell_years", logger: logger).decode(String.self) {
            result.append(UnitCode(province))
        }
        return result
    }

    private func load(on connection: PostgresConnection, cellFilter: String, indicatorFilter: String, binds: PostgresBindings) async throws -> InMemoryCellStore {
        var store = InMemoryCellStore()
        let cellRows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unit, element, year, value::text, completeness::text, children_reported::text, children_expected::text,
                   delta_sum::text, delta_count::text, reports::text
            FROM engine.cell_years WHERE \(cellFilter)
            """, binds: binds), logger: logger)
        for try await row in cellRows.decode((String, String, Int, String, String, String, String, String, String, String).self) {
            let unit = UnitCode(row.0)
            let values = YearRowCoding.parseArray(row.3), completeness = YearRowCoding.parseArray(row.4)
            let reported = YearRowCoding.parseArray(row.5), expected = YearRowCoding.parseArray(row.6)
            let deltaSums = YearRowCoding.parseArray(row.7), deltaCounts = YearRowCoding.parseArray(row.8)
            let reports = try YearRowCoding.parseReports(row.9)
            guard [values, completeness, reported, expected, deltaSums, deltaCounts].allSatisfy({ $0.count == YearSlot.count }) else {
                throw EngineStateError("engine.cell_years \(row.0)/\(row.1)/\(row.2) has arrays of the wrong length")
            }
            for slot in YearSlot.all {
                let i = slot - 1
                let deltaCount = deltaCounts[i].flatMap { Int($0) } ?? 0
                let slotReports = reports[slot] ?? []
                guard values[i] != nil || deltaCount > 0 || !slotReports.isEmpty else { continue }
                store.cells[CellKey(unit: unit, period: YearSlot.period(year: row.2, slot: slot), element: row.1)] = CellState(
                    reports: slotReports,
                    deltaSum: deltaSums[i].flatMap(ExactDecimal.parse) ?? 0, deltaCount: deltaCount,
                    value: values[i].flatMap(ExactDecimal.parse), completeness: completeness[i].flatMap(ExactDecimal.parse) ?? 0,
                    childrenReported: reported[i].flatMap { Int($0) } ?? 0, childrenExpected: expected[i].flatMap { Int($0) } ?? 0
                )
            }
        }
        let indicatorRows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unit, indicator, year, value::text, numerator::text, denominator::text, completeness::text, target::text,
                   target_year, gap::text, meets_target::text
            FROM engine.indicator_years WHERE \(indicatorFilter)
            """, binds: binds), logger: logger)
        for try await row in indicatorRows.decode((String, String, Int, String, String, String, String, String?, Int?, String, String).self) {
            let values = YearRowCoding.parseArray(row.3), numerators = YearRowCoding.parseArray(row.4)
            let denominators = YearRowCoding.parseArray(row.5), completeness = YearRowCoding.parseArray(row.6)
            let gaps = YearRowCoding.parseArray(row.9), meets = YearRowCoding.parseArray(row.10)
            guard [values, numerators, denominators, completeness, gaps, meets].allSatisfy({ $0.count == YearSlot.count }) else {
                throw EngineStateError("engine.indicator_years \(row.0)/\(row.1)/\(row.2) has arrays of the wrong length")
            }
            for slot in YearSlot.all {
                let i = slot - 1
                guard let value = values[i].flatMap(ExactDecimal.parse) else { continue }
                store.indicators[IndicatorKey(unit: UnitCode(row.0), period: YearSlot.period(year: row.2, slot: slot), indicator: row.1)] = IndicatorValue(
                    value: value, numerator: numerators[i].flatMap(ExactDecimal.parse), denominator: denominators[i].flatMap(ExactDecimal.parse),
                    completeness: completeness[i].flatMap(ExactDecimal.parse) ?? 0, target: row.7.flatMap(ExactDecimal.parse),
                    targetYear: row.8, gap: gaps[i].flatMap(ExactDecimal.parse), meetsTarget: meets[i].map { $0 == "t" || $0 == "true" }
                )
            }
        }
        return store
    }

    // MARK: - Writing

    /// Rewrites the year rows that hold a changed cell or indicator value, from the store.
    func write(_ changes: IncrementalComputation.Changes, store: InMemoryCellStore, on connection: PostgresConnection) async throws {
        try await writeCells(Set(changes.cells.keys.map { YearRowKey(unit: $0.unit, code: $0.element, year: $0.period.year) }), store: store, on: connection)
        try await writeIndicators(Set(changes.indicators.keys.map { YearRowKey(unit: $0.unit, code: $0.indicator, year: $0.period.year) }), store: store, on: connection)
    }

    private func writeCells(_ keys: Set<YearRowKey>, store: InMemoryCellStore, on connection: PostgresConnection) async throws {
        guard !keys.isEmpty else { return }
        let text = ExactDecimal.string
        var upserts: [[String?]] = []
        var deletes: [[String?]] = []
        for key in keys.sorted() {
            var values = [String?](repeating: nil, count: YearSlot.count), completeness = values, reported = values, expected = values
            var deltaSums = values, deltaCounts = values
            var reports: [(Int, [ReportedValue])] = []
            var any = false
            for slot in YearSlot.all {
                guard let cell = store.cell(CellKey(unit: key.unit, period: YearSlot.period(year: key.year, slot: slot), element: key.code)) else { continue }
                any = true
                let i = slot - 1
                values[i] = cell.value.map(text)
                completeness[i] = text(cell.completeness)
                reported[i] = String(cell.childrenReported)
                expected[i] = String(cell.childrenExpected)
                deltaSums[i] = text(cell.deltaSum)
                deltaCounts[i] = String(cell.deltaCount)
                if !cell.reports.isEmpty { reports.append((slot, cell.reports)) }
            }
            guard any else {
                deletes.append([key.unit.rawValue, key.code, String(key.year)])
                continue
            }
            upserts.append([key.unit.rawValue, key.code, String(key.year), province(of: key.unit).rawValue,
                            YearRowCoding.arrayLiteral(values), YearRowCoding.arrayLiteral(completeness), YearRowCoding.arrayLiteral(reported),
                            YearRowCoding.arrayLiteral(expected), YearRowCoding.arrayLiteral(deltaSums), YearRowCoding.arrayLiteral(deltaCounts),
                            YearRowCoding.reportsJSON(reports)])
        }
        if !deletes.isEmpty {
            try await StagingTable(name: "stage_cell_year_deletes", columns: [("unit", "text"), ("element", "text"), ("year", "int")])
                .fill(deletes, on: connection, logger: logger)
            try await connection.query("""
                DELETE FROM engine.cell_years c USING stage_cell_year_deletes d
                WHERE c.unit = d.unit AND c.element = d.element AND c.year = d.year
                """, logger: logger)
        }
        if !upserts.isEmpty {
            try await StagingTable(name: "stage_cell_years", columns: [
                ("unit", "text"), ("element", "text"), ("year", "int"), ("province", "text"), ("value", "numeric[]"),
                ("completeness", "numeric[]"), ("children_reported", "int[]"), ("children_expected", "int[]"),
                ("delta_sum", "numeric[]"), ("delta_count", "int[]"), ("reports", "jsonb"),
            ]).fill(upserts, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO engine.cell_years (unit, element, year, province, value, completeness, children_reported, children_expected,
                                               delta_sum, delta_count, reports)
                SELECT unit, element, year, province, value, completeness, children_reported, children_expected, delta_sum, delta_count, reports
                FROM stage_cell_years
                ON CONFLICT (unit, element, year) DO UPDATE SET
                    value = excluded.value, completeness = excluded.completeness, children_reported = excluded.children_reported,
                    children_expected = excluded.children_expected, delta_sum = excluded.delta_sum, delta_count = excluded.delta_count,
                    reports = excluded.reports, updated_at = now()
                """, logger: logger)
        }
    }

    private func writeIndicators(_ keys: Set<YearRowKey>, store: InMemoryCellStore, on connection: PostgresConnection) async throws {
        guard !keys.isEmpty else { return }
        let text = ExactDecimal.string
        var upserts: [[String?]] = []
        var deletes: [[String?]] = []
        for key in keys.sorted() {
            var values = [String?](repeating: nil, count: YearSlot.count), numerators = values, denominators = values
            var completeness = values, gaps = values, meets = values
            var target: Decimal?
            var targetYear: Int?
            var any = false
            for slot in YearSlot.all {
                guard let value = store.indicatorValue(IndicatorKey(unit: key.unit, period: YearSlot.period(year: key.year, slot: slot), indicator: key.code)) else { continue }
                any = true
                let i = slot - 1
                values[i] = text(value.value)
                numerators[i] = value.numerator.map(text)
                denominators[i] = value.denominator.map(text)
                completeness[i] = text(value.completeness)
                gaps[i] = value.gap.map(text)
                meets[i] = value.meetsTarget.map { $0 ? "t" : "f" }
                target = value.target
                targetYear = value.targetYear
            }
            guard any else {
                deletes.append([key.unit.rawValue, key.code, String(key.year)])
                continue
            }
            upserts.append([key.unit.rawValue, key.code, String(key.year), province(of: key.unit).rawValue,
                            YearRowCoding.arrayLiteral(values), YearRowCoding.arrayLiteral(numerators), YearRowCoding.arrayLiteral(denominators),
                            YearRowCoding.arrayLiteral(completeness), target.map(text), targetYear.map(String.init),
                            YearRowCoding.arrayLiteral(gaps), YearRowCoding.arrayLiteral(meets)])
        }
        if !deletes.isEmpty {
            try await StagingTable(name: "stage_indicator_year_deletes", columns: [("unit", "text"), ("indicator", "text"), ("year", "int")])
                .fill(deletes, on: connection, logger: logger)
            try await connection.query("""
                DELETE FROM engine.indicator_years v USING stage_indicator_year_deletes d
                WHERE v.unit = d.unit AND v.indicator = d.indicator AND v.year = d.year
                """, logger: logger)
        }
        if !upserts.isEmpty {
            try await StagingTable(name: "stage_indicator_years", columns: [
                ("unit", "text"), ("indicator", "text"), ("year", "int"), ("province", "text"), ("value", "numeric[]"),
                ("numerator", "numeric[]"), ("denominator", "numeric[]"), ("completeness", "numeric[]"), ("target", "numeric"),
                ("target_year", "int"), ("gap", "numeric[]"), ("meets_target", "boolean[]"),
            ]).fill(upserts, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO engine.indicator_years (unit, indicator, year, province, value, numerator, denominator, completeness, target,
                                                    target_year, gap, meets_target)
                SELECT unit, indicator, year, province, value, numerator, denominator, completeness, target, target_year, gap, meets_target
                FROM stage_indicator_years
                ON CONFLICT (unit, indicator, year) DO UPDATE SET
                    value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
                    completeness = excluded.completeness, target = excluded.target, target_year = excluded.target_year,
                    gap = excluded.gap, meets_target = excluded.meets_target, updated_at = now()
                """, logger: logger)
        }
    }
}
