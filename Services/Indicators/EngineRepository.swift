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
    /// The codes a row's cells and indicator values are looked up by, in the order they are written.
    private let elementCodes: [String]
    /// Each indicator (in code order) with the positions in `elementCodes` of the elements it
    /// reads: a unit-period has a value of an indicator only where it has a cell of each
    /// (`CellFormula` gives none otherwise), so a row asks the store only for those.
    private let indicators: [(code: String, elements: [Int])]

    init(catalog: Catalog, logger: Logger) {
        self.catalog = catalog
        self.logger = logger
        let elementCodes = catalog.elements.keys.sorted()
        self.elementCodes = elementCodes
        let position = Dictionary(uniqueKeysWithValues: elementCodes.enumerated().map { ($1, $0) })
        // One that reads an element outside the catalog never has a cell of it, nor a value.
        self.indicators = catalog.indicators.keys.sorted().compactMap { code in
            let elements = catalog.indicators[code]!.elements.compactMap { position[$0] }
            return elements.count == catalog.indicators[code]!.elements.count ? (code, elements) : nil
        }
    }

    /// The province a unit's rows are filed under; the country files under itself.
    func province(of unit: UnitCode) -> UnitCode {
        catalog.units.province(of: unit) ?? unit
    }

    // MARK: - Reading

    /// Every cell and indicator value of one province.
    func loadProvince(_ province: UnitCode, on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(province.rawValue)
        return try await load(on: connection, filter: "province = $1", binds: binds)
    }

    /// What the country pass reads: the country's rows of the given years (its coarser periods
    /// are recomputed from all of a year's) and its children's rows at the periods whose country
    /// cells are recomputed. Whole rows, so that whatever the pass writes back is whole too.
    func loadCountry(years: Set<Int>, childPeriods: Set<Period>, on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(UnitCode.country.rawValue)
        binds.append(years.sorted().map { "\($0)%" }, context: .default)
        binds.append(catalog.units.children(of: .country).map(\.rawValue), context: .default)
        binds.append(childPeriods.map(\.description), context: .default)
        var store = try await load(on: connection, filter: "(unit = $1 AND period LIKE ANY($2)) OR (unit = ANY($3) AND period = ANY($4))", binds: binds)
        store.filterCells { years.contains($0.period.year) }
        store.indicators = store.indicators.filter { years.contains($0.key.period.year) }
        return store
    }

    /// Everything the country pass can read: the country's rows and its children's, every
    /// period. Kept in memory between passes (`CountryCache`).
    func loadCountryState(on connection: PostgresConnection) async throws -> InMemoryCellStore {
        var binds = PostgresBindings()
        binds.append(UnitCode.country.rawValue)
        binds.append(catalog.units.children(of: .country).map(\.rawValue), context: .default)
        return try await load(on: connection, filter: "unit = $1 OR unit = ANY($2)", binds: binds)
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
        for try await province in try await connection.query("SELECT DISTINCT province FROM engine.unit_periods", logger: logger).decode(String.self) {
            result.append(UnitCode(province))
        }
        return result
    }

    private func load(on connection: PostgresConnection, filter: String, binds: PostgresBindings) async throws -> InMemoryCellStore {
        var store = InMemoryCellStore()
        let rows = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT unit, period, cells, indicators FROM engine.unit_periods WHERE \(filter)
            """, binds: binds), logger: logger)
        for try await row in rows {
            var columns = ColumnReader(row, table: "engine.unit_periods")
            let unit = UnitCode(try columns.text("unit"))
            let period = try columns.period("period")
            let rowName = "\(unit) \(period)"
            store.storedRows.insert(UnitPeriod(unit: unit, period: period))
            for (element, state) in try columns.json("cells", of: rowName, UnitPeriodColumns.parseCells) {
                store.setCell(CellKey(unit: unit, period: period, element: element), state)
            }
            for (indicator, value) in try columns.json("indicators", of: rowName, UnitPeriodColumns.parseIndicators) {
                store.indicators[IndicatorKey(unit: unit, period: period, indicator: indicator)] = value
            }
        }
        return store
    }

    // MARK: - Writing

    /// The rows a computation's changes touch, each whole as `store` holds it after them: ready
    /// to write while `store` goes on changing. Every row is upserted: for a store that is not
    /// the table's mirror (the country's, read for one pass; an audit's).
    func rows(changed changes: IncrementalComputation.Changes, in store: InMemoryCellStore) -> UnitPeriodRows {
        rows(changed: changes, in: store) { _ in false }
    }

    /// The same for a store that mirrors the table (a province's): the rows not among its
    /// `storedRows` are inserted, not upserted, and `storedRows` then holds what the write leaves
    /// in the table. Were a row there after all, the insert fails, and with it the batch, whose
    /// provinces are then loaded again from what PostgreSQL holds.
    func rows(changed changes: IncrementalComputation.Changes, mirroredBy store: inout InMemoryCellStore) -> UnitPeriodRows {
        let rows = rows(changed: changes, in: store) { [stored = store.storedRows] row in !stored.contains(row) }
        for row in rows.inserts { store.storedRows.insert(row.key) }
        for row in rows.deletes { store.storedRows.remove(row) }
        return rows
    }

    private func rows(changed changes: IncrementalComputation.Changes, in store: InMemoryCellStore,
                      isNew: (UnitPeriod) -> Bool) -> UnitPeriodRows {
        var touched = Set<UnitPeriod>()
        touched.reserveCapacity(changes.cells.count / 8)
        for key in changes.cells.keys { touched.insert(UnitPeriod(unit: key.unit, period: key.period)) }
        for key in changes.indicators.keys { touched.insert(UnitPeriod(unit: key.unit, period: key.period)) }
        // By unit and year: a year of a unit's cells of one element is found once for all of
        // the year's rows.
        var byYear: [UnitYear: [Period]] = [:]
        for row in touched { byYear[UnitYear(unit: row.unit, year: row.period.year), default: []].append(row.period) }
        // Only the elements the store has held, in the catalog's order.
        let elements = elementCodes.indices.filter { store.storedElements.contains(elementCodes[$0]) }
        var rows = UnitPeriodRows()
        for (unitYear, periods) in byYear {
            var drafts = periods.map { RowDraft(period: $0, elementCount: elementCodes.count) }
            for position in elements {
                let element = elementCodes[position]
                let yearKey = CellYearKey(unit: unitYear.unit, year: unitYear.year, element: element)
                store.withYear(yearKey) { cells in
                    for index in drafts.indices {
                        let slot = CellYear.slot(of: drafts[index].period)
                        guard cells.slots[slot] != nil else { continue }
                        drafts[index].cells.append(element, cell: cells.slots[slot]!)
                        drafts[index].hasCell[position] = true
                    }
                }
            }
            for var draft in drafts {
                let row = UnitPeriod(unit: unitYear.unit, period: draft.period)
                for (indicator, needs) in indicators where needs.allSatisfy({ draft.hasCell[$0] }) {
                    guard let value = store.indicators[IndicatorKey(unit: row.unit, period: row.period, indicator: indicator)] else { continue }
                    draft.indicators.append(indicator, value: value)
                }
                if draft.cells.count == 0 && draft.indicators.count == 0 {
                    rows.deletes.append(row)
                    continue
                }
                let written = UnitPeriodRow(key: row, province: province(of: row.unit), cells: draft.cells.finished(),
                                            indicators: draft.indicators.finished())
                if isNew(row) { rows.inserts.append(written) } else { rows.upserts.append(written) }
            }
        }
        return rows
    }

    /// A unit's year: the rows of its months, quarters and the year share their cells' `CellYear`s.
    private struct UnitYear: Hashable {
        var unit: UnitCode
        var year: Int
    }

    /// A row being gathered: its cells and indicator values, written as they are found.
    private struct RowDraft {
        var period: Period
        var cells = UnitPeriodColumns.ColumnWriter(capacity: 4096)
        /// By position in `elementCodes`: whether the row has a cell of the element.
        var hasCell: [Bool]
        var indicators = UnitPeriodColumns.ColumnWriter(capacity: 2048)

        init(period: Period, elementCount: Int) {
            self.period = period
            self.hasCell = Array(repeating: false, count: elementCount)
        }
    }

    /// Writes whole unit-period rows in one statement: the new ones inserted (a row that is
    /// there after all fails the statement, and with it the batch, which is retried from what
    /// PostgreSQL holds), the rest upserted; then one delete of rows left with nothing.
    ///
    /// The rows go as arrays, one per column, unnested: one round trip. Staged through a
    /// temporary table with `COPY` they took four (create if missing, empty, copy, merge) and a
    /// fifth for the new rows, and the batch's write task, which runs on the same two threads as
    /// the provinces' computations, waited for a thread after each of them.
    func write(_ rows: UnitPeriodRows, on connection: PostgresConnection) async throws {
        if !rows.inserts.isEmpty || !rows.upserts.isEmpty {
            var binds = PostgresBindings(capacity: 14)
            for part in [rows.inserts, rows.upserts] {
                binds.append(part.map(\.key.unit.rawValue), context: .default)
                binds.append(part.map(\.key.period.description), context: .default)
                binds.append(part.map(\.province.rawValue), context: .default)
                binds.append(part.map(\.key.period.type.rawValue), context: .default)
                binds.append(part.map(\.key.period.end.description), context: .default)
                binds.append(part.map { JSONText($0.cells) }, context: .default)
                binds.append(part.map { JSONText($0.indicators) }, context: .default)
            }
            try await connection.query(PostgresQuery(unsafeSQL: """
                WITH inserted AS (
                    INSERT INTO engine.unit_periods (unit, period, province, period_type, period_end, cells, indicators)
                    SELECT unit, period, province, period_type, period_end::date, cells, indicators
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::json[], $7::json[])
                        AS r(unit, period, province, period_type, period_end, cells, indicators)
                    RETURNING 1
                )
                INSERT INTO engine.unit_periods (unit, period, province, period_type, period_end, cells, indicators)
                SELECT unit, period, province, period_type, period_end::date, cells, indicators
                FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::json[], $14::json[])
                    AS r(unit, period, province, period_type, period_end, cells, indicators)
                ON CONFLICT (unit, period) DO UPDATE SET cells = excluded.cells, indicators = excluded.indicators, updated_at = now()
                """, binds: binds), logger: logger)
        }
        if !rows.deletes.isEmpty {
            try await connection.query("""
                DELETE FROM engine.unit_periods p
                USING unnest(\(rows.deletes.map(\.unit.rawValue))::text[], \(rows.deletes.map(\.period.description))::text[]) AS d(unit, period)
                WHERE p.unit = d.unit AND p.period = d.period
                """, logger: logger)
        }
    }
}

/// A `json` value sent as it is: json's binary form is its text, which PostgreSQL checks once.
private struct JSONText: PostgresArrayEncodable, PostgresNonThrowingEncodable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    static var psqlType: PostgresDataType { .json }
    static var psqlFormat: PostgresFormat { .binary }
    static var psqlArrayType: PostgresDataType { .jsonArray }

    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeBytes(bytes)
    }
}

/// A unit-period row as it is written: its cells and indicator values already JSON (UTF-8).
struct UnitPeriodRow: Sendable {
    var key: UnitPeriod
    var province: UnitCode
    var cells: [UInt8]
    var indicators: [UInt8]
}

/// What one write does to `engine.unit_periods`.
struct UnitPeriodRows: Sendable {
    var inserts: [UnitPeriodRow] = []
    var upserts: [UnitPeriodRow] = []
    var deletes: [UnitPeriod] = []

    var isEmpty: Bool { inserts.isEmpty && upserts.isEmpty && deletes.isEmpty }

    mutating func append(_ other: UnitPeriodRows) {
        inserts += other.inserts
        upserts += other.upserts
        deletes += other.deletes
    }
}

/// Reads a row's columns in order, each as its own concrete type. Decoding a whole row as a
/// tuple goes through PostgresNIO's generic path for every row, which cost more than the values
/// themselves when a province's state is loaded; the cells and indicator values are parsed
/// straight from the row's bytes.
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

    /// A json column, parsed straight from its bytes (json's binary form is its text).
    mutating func json<Parsed>(_ column: String, of row: String,
                               _ parse: (UnsafeBufferPointer<UInt8>) throws(MessageJSONError) -> Parsed) throws -> Parsed {
        guard let bytes = try next(column).bytes else { throw EngineStateError("\(table).\(column) of \(row) is null") }
        do {
            return try bytes.withUnsafeReadableBytes { raw in
                try parse(raw.assumingMemoryBound(to: UInt8.self))
            }
        } catch {
            throw EngineStateError("\(table).\(column) of \(row) is '\(String(buffer: bytes).prefix(80))…': \(error)")
        }
    }
}
