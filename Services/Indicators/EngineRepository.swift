import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// The `engine` schema: what dx-indicators knows. Every read and write runs on the batch's
/// transaction connection, so what it reads includes what the batch wrote.
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

    /// What the country pass reads: the country's cells and indicator values for the given
    /// elements and years (its coarser periods are recomputed from all of a year's), and its
    /// children's cells only at the periods whose country cells are recomputed.
    func loadCountry(elements: Set<String>, years: Set<Int>, childPeriods: Set<Period>, on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(UnitCode.country.rawValue)
        try binds.append(Array(elements), context: .default)
        try binds.append(years.sorted().map { "\($0)%" }, context: .default)
        try binds.append(catalog.units.children(of: .country).map(\.rawValue), context: .default)
        try binds.append(childPeriods.map(\.description), context: .default)
        var store = try await load(
            on: connection,
            cellFilter: "((unit = $1 AND period LIKE ANY($3)) OR (unit = ANY($4) AND period = ANY($5))) AND element = ANY($2)",
            indicatorFilter: "unit = $1 AND period LIKE ANY($3) AND $2::text[] IS NOT NULL AND $4::text[] IS NOT NULL AND $5::text[] IS NOT NULL",
            binds: binds
        )
        store.cells = store.cells.filter { years.contains($0.key.period.year) }
        store.indicators = store.indicators.filter { years.contains($0.key.period.year) }
        return store
    }

    /// Everything the country pass can read: the country's cells and indicator values and its
    /// children's cells, every period. Kept in memory between passes (`CountryCache`).
    func loadCountryState(on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(UnitCode.country.rawValue)
        try binds.append(catalog.units.children(of: .country).map(\.rawValue), context: .default)
        return try await load(on: connection, cellFilter: "unit = $1 OR unit = ANY($2)",
                              indicatorFilter: "unit = $1 AND $2::text[] IS NOT NULL", binds: binds)
    }

    /// Bumps `engine.country_version` and returns the version before. Call it holding the lock
    /// `hashtext('engine.country')`, in the transaction that writes the country's or the
    /// provinces' rows.
    @discardableResult
    func bumpCountryVersion(on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query("UPDATE engine.country_version SET version = version + 1 RETURNING version - 1", logger: logger)
        for try await previous in rows.decode(Int64.self) { return previous }
        throw EngineStateError("engine.country_version has no row: run dx migrate")
    }

    /// Every province with rows.
    func provinces(on connection: PostgresConnection) async throws -> [UnitCode] {
        var result: [UnitCode] = []
        for try await province in try await connection.query("SELECT DISTINCT province FROM engine.cells", logger: logger).decode(String.self) {
            result.append(UnitCode(province))
        }
        return result
    }

    private func load(on connection: PostgresConnection, cellFilter: String, indicatorFilter: String, binds: PostgresBindings) async throws -> InMemoryCellStore {
        var store = InMemoryCellStore()
        let cellRows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unit, period, element, value::text, completeness::text, children_reported, children_expected,
                   delta_sum::text, delta_count, reports::text
            FROM engine.cells WHERE \(cellFilter)
            """, binds: binds), logger: logger)
        for try await row in cellRows {
            var columns = ColumnReader(row, table: "engine.cells")
            let key = CellKey(unit: UnitCode(try columns.text("unit")), period: try columns.period("period"), element: try columns.text("element"))
            let value = try columns.quantity("value")
            let completeness = try columns.quantity("completeness") ?? .zero
            let childrenReported = try columns.int("children_reported")
            let childrenExpected = try columns.int("children_expected")
            let deltaSum = try columns.quantity("delta_sum") ?? .zero
            let deltaCount = try columns.int("delta_count")
            store.cells[key] = CellState(
                reports: try columns.reports("reports"), deltaSum: deltaSum, deltaCount: deltaCount, value: value,
                completeness: completeness, childrenReported: childrenReported, childrenExpected: childrenExpected
            )
        }
        let indicatorRows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unit, period, indicator, value::text, numerator::text, denominator::text, completeness::text, target::text,
                   target_year, gap::text, meets_target
            FROM engine.indicator_values WHERE \(indicatorFilter)
            """, binds: binds), logger: logger)
        for try await row in indicatorRows {
            var columns = ColumnReader(row, table: "engine.indicator_values")
            let key = IndicatorKey(unit: UnitCode(try columns.text("unit")), period: try columns.period("period"), indicator: try columns.text("indicator"))
            guard let value = try columns.quantity("value") else { continue }
            store.indicators[key] = IndicatorValue(
                value: value, numerator: try columns.quantity("numerator"), denominator: try columns.quantity("denominator"),
                completeness: try columns.quantity("completeness") ?? .zero, target: try columns.quantity("target"),
                targetYear: try columns.optional(Int.self, "target_year"), gap: try columns.quantity("gap"),
                meetsTarget: try columns.optional(Bool.self, "meets_target")
            )
        }
        return store
    }

    // MARK: - Writing

    /// The columns `write` fills, in the order it writes them: of the staging tables, and of
    /// the tables themselves for rows COPYed straight in.
    static let cellColumns: [(name: String, type: String)] = [
        ("unit", "text"), ("period", "text"), ("element", "text"), ("province", "text"), ("value", "numeric"),
        ("completeness", "numeric"), ("children_reported", "int"), ("children_expected", "int"),
        ("delta_sum", "numeric"), ("delta_count", "int"), ("reports", "jsonb"),
    ]
    static let indicatorColumns: [(name: String, type: String)] = [
        ("unit", "text"), ("period", "text"), ("indicator", "text"), ("province", "text"), ("period_type", "text"),
        ("period_end", "date"), ("value", "numeric"), ("numerator", "numeric"), ("denominator", "numeric"),
        ("completeness", "numeric"), ("target", "numeric"), ("target_year", "int"), ("gap", "numeric"), ("meets_target", "boolean"),
    ]

    /// Writes the cells and indicator values a computation changed. With `insertingCreated`,
    /// those the computation created (its store mirrors the tables, as a province's does) are
    /// COPYed straight into the tables; the rest are upserted. Were one there after all, the COPY
    /// fails, and with it the batch, which is retried from what PostgreSQL holds.
    func write(_ changes: IncrementalComputation.Changes, insertingCreated: Bool, on connection: PostgresConnection) async throws {
        func writeCell(_ row: (key: CellKey, state: CellState), _ writer: inout CopyRowWriter) {
            writer.field(row.key.unit.rawValue)
            writer.field(row.key.period)
            writer.field(row.key.element)
            writer.field(province(of: row.key.unit).rawValue)
            writer.field(row.state.value)
            writer.field(row.state.completeness)
            writer.field(row.state.childrenReported)
            writer.field(row.state.childrenExpected)
            writer.field(row.state.deltaSum)
            writer.field(row.state.deltaCount)
            writer.field(ReportsColumn.json(row.state.reports))
        }
        func writeIndicator(_ row: (key: IndicatorKey, value: IndicatorValue), _ writer: inout CopyRowWriter) {
            let value = row.value
            writer.field(row.key.unit.rawValue)
            writer.field(row.key.period)
            writer.field(row.key.indicator)
            writer.field(province(of: row.key.unit).rawValue)
            writer.field(row.key.period.type.rawValue)
            writer.field(row.key.period.end.description)
            writer.field(value.value)
            writer.field(value.numerator)
            writer.field(value.denominator)
            writer.field(value.completeness)
            writer.field(value.target)
            writer.field(value.targetYear.map(String.init))
            writer.field(value.gap)
            writer.field(value.meetsTarget.map { $0 ? "t" : "f" })
        }

        if !changes.cells.isEmpty {
            var upserts: [(key: CellKey, state: CellState)] = []
            var inserts: [(key: CellKey, state: CellState)] = []
            var deletes: [[String?]] = []
            upserts.reserveCapacity(changes.cells.count)
            for (key, state) in changes.cells {
                if let state {
                    if insertingCreated && changes.createdCells.contains(key) {
                        inserts.append((key, state))
                    } else {
                        upserts.append((key, state))
                    }
                } else {
                    deletes.append([key.unit.rawValue, key.period.description, key.element])
                }
            }
            if !deletes.isEmpty {
                try await StagingTable(name: "stage_cell_deletes", columns: [("unit", "text"), ("period", "text"), ("element", "text")])
                    .fill(deletes, on: connection, logger: logger)
                try await connection.query("""
                    DELETE FROM engine.cells c USING stage_cell_deletes d
                    WHERE c.unit = d.unit AND c.period = d.period AND c.element = d.element
                    """, logger: logger)
            }
            if !upserts.isEmpty {
                try await StagingTable(name: "stage_cells", columns: Self.cellColumns).fill(upserts, on: connection, logger: logger, write: writeCell)
                try await connection.query("""
                    INSERT INTO engine.cells (unit, period, element, province, value, completeness, children_reported, children_expected,
                                              delta_sum, delta_count, reports)
                    SELECT unit, period, element, province, value, completeness, children_reported, children_expected, delta_sum, delta_count, reports
                    FROM stage_cells
                    ON CONFLICT (unit, period, element) DO UPDATE SET
                        value = excluded.value, completeness = excluded.completeness, children_reported = excluded.children_reported,
                        children_expected = excluded.children_expected, delta_sum = excluded.delta_sum, delta_count = excluded.delta_count,
                        reports = excluded.reports, updated_at = now()
                    """, logger: logger)
            }
            try await connection.copy(inserts, into: "engine.cells", columns: Self.cellColumns.map(\.name), logger: logger, write: writeCell)
        }

        if !changes.indicators.isEmpty {
            var upserts: [(key: IndicatorKey, value: IndicatorValue)] = []
            var deletes: [[String?]] = []
            upserts.reserveCapacity(changes.indicators.count)
            var inserts: [(key: IndicatorKey, value: IndicatorValue)] = []
            for (key, change) in changes.indicators {
                if let value = change.current {
                    if insertingCreated && changes.createdIndicators.contains(key) {
                        inserts.append((key, value))
                    } else {
                        upserts.append((key, value))
                    }
                } else {
                    deletes.append([key.unit.rawValue, key.period.description, key.indicator])
                }
            }
            if !deletes.isEmpty {
                try await StagingTable(name: "stage_indicator_deletes", columns: [("unit", "text"), ("period", "text"), ("indicator", "text")])
                    .fill(deletes, on: connection, logger: logger)
                try await connection.query("""
                    DELETE FROM engine.indicator_values v USING stage_indicator_deletes d
                    WHERE v.unit = d.unit AND v.period = d.period AND v.indicator = d.indicator
                    """, logger: logger)
            }
            if !upserts.isEmpty {
                try await StagingTable(name: "stage_indicators", columns: Self.indicatorColumns)
                    .fill(upserts, on: connection, logger: logger, write: writeIndicator)
                try await connection.query("""
                    INSERT INTO engine.indicator_values (unit, period, indicator, province, period_type, period_end, value, numerator, denominator,
                                                         completeness, target, target_year, gap, meets_target)
                    SELECT unit, period, indicator, province, period_type, period_end, value, numerator, denominator,
                           completeness, target, target_year, gap, meets_target FROM stage_indicators
                    ON CONFLICT (unit, period, indicator) DO UPDATE SET
                        value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
                        completeness = excluded.completeness, target = excluded.target, target_year = excluded.target_year,
                        gap = excluded.gap, meets_target = excluded.meets_target, updated_at = now()
                    """, logger: logger)
            }
            try await connection.copy(inserts, into: "engine.indicator_values", columns: Self.indicatorColumns.map(\.name), logger: logger,
                                      write: writeIndicator)
        }
    }
}

/// Reads a row's columns in order, each as its own concrete type. Decoding a whole row as a
/// tuple goes through PostgresNIO's generic path for every row, which cost more than the values
/// themselves when a province's state is loaded; numbers (sent as text, exact) and the reports
/// are parsed straight from the row's bytes.
private struct ColumnReader {
    private var cells: PostgresRow.Iterator
    private let table: String

    init(_ row: PostgresRow, table: String) {
        self.cells = row.makeIterator()
        self.table = table
    }

    private mutating func next(_ column: String) throws -> PostgresCell {
        guard let cell = cells.next() else { throw EngineStateError("\(table): no column \(column) in the row") }
        return cell
    }

    mutating func text(_ column: String) throws -> String {
        guard let bytes = try next(column).bytes else { throw EngineStateError("\(table).\(column) is null") }
        return String(buffer: bytes)
    }

    mutating func period(_ column: String) throws -> Period {
        let text = try text(column)
        guard let period = Period(text) else { throw EngineStateError("\(table).\(column) is '\(text)', not a period") }
        return period
    }

    /// A numeric column sent as `::text`; nil for NULL.
    mutating func quantity(_ column: String) throws -> Quantity? {
        guard let bytes = try next(column).bytes else { return nil }
        guard let value = bytes.withUnsafeReadableBytes({ Quantity.parse(utf8: $0) }) else {
            throw EngineStateError("\(table).\(column) is '\(String(buffer: bytes))', not an exact number")
        }
        return value
    }

    mutating func int(_ column: String) throws -> Int {
        guard let value = try optional(Int.self, column) else { throw EngineStateError("\(table).\(column) is null") }
        return value
    }

    /// A column PostgresNIO decodes itself (integers, booleans); nil for NULL.
    mutating func optional<Value: PostgresDecodable>(_ type: Value.Type, _ column: String) throws -> Value? {
        let cell = try next(column)
        guard cell.bytes != nil else { return nil }
        return try cell.decode(Value.self)
    }

    /// A jsonb column sent as `::text`; empty for NULL.
    mutating func reports(_ column: String) throws -> [ReportedValue] {
        guard let bytes = try next(column).bytes, bytes.readableBytes > 0 else { return [] }
        do {
            return try bytes.withUnsafeReadableBytes { raw in
                try ReportsColumn.parse(utf8: raw.assumingMemoryBound(to: UInt8.self))
            }
        } catch {
            throw EngineStateError("\(table).\(column) is '\(String(buffer: bytes).prefix(80))': \(error)")
        }
    }
}
