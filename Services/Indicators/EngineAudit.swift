import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// Compares what dx-indicators maintained incrementally with a from-scratch recomputation:
/// `dx recompute` and the reliability tests use it. Needs a role that can read the schemas it
/// reads (the admin role).
public struct EngineAudit: Sendable {
    public let catalog: Catalog
    public let database: Database
    public let logger: Logger

    public init(catalog: Catalog, database: Database, logger: Logger) {
        self.catalog = catalog
        self.database = database
        self.logger = logger
    }

    /// Every cell and indicator value the engine holds.
    public func engineState() async throws -> InMemoryCellStore {
        try await database.withConnection { connection in
            var store = InMemoryCellStore()
            let repository = EngineRepository(catalog: catalog, logger: logger)
            for province in try await repository.provinces(on: connection) {
                let part = try await repository.loadProvince(province, on: connection)
                part.forEachCell { key, state in if store.cell(key) == nil { store.setCell(key, state) } }
                store.indicators.merge(part.indicators) { a, _ in a }
            }
            return store
        }
    }

    /// The inputs the engine stored: report values (with tombstones) and event sums.
    public func engineInputs() async throws -> FullComputation.Inputs {
        let state = try await engineState()
        var inputs = FullComputation.Inputs()
        state.forEachCell { key, cell in
            for report in cell.reports { inputs.add(key, report) }
            if cell.deltaCount > 0 { inputs.addDelta(key, cell.deltaSum, count: cell.deltaCount) }
        }
        return inputs
    }

    /// What dx-ingest accepted: each report's current revision and every event.
    public func acceptedInputs() async throws -> FullComputation.Inputs {
        var inputs = FullComputation.Inputs()
        for try await (reportID, revision, sequence, unit, period, element, value) in try await database.query("""
            SELECT r.report_id, r.revision, r.sequence, v.unit, v.period, v.element, v.value::text
            FROM ingest.reports r JOIN ingest.report_values v ON v.report_id = r.report_id
            """).decode((String, Int, Int64, String, String, String, String).self) {
            guard let period = Period(period), let value = Quantity.parse(value) else { continue }
            inputs.add(CellKey(unit: UnitCode(unit), period: period, element: element),
                       ReportedValue(reportID: reportID, revision: revision, sequence: sequence, value: value))
        }
        for try await (unit, period, elements) in try await database.query(
            "SELECT unit, period, elements FROM ingest.events"
        ).decode((String, String, [String]).self) {
            guard let period = Period(period) else { continue }
            for element in elements {
                inputs.addDelta(CellKey(unit: UnitCode(unit), period: period, element: element), 1)
            }
        }
        return inputs
    }

    public func recompute(_ inputs: FullComputation.Inputs) -> InMemoryCellStore {
        FullComputation(catalog: catalog).compute(inputs)
    }

    /// A difference between two states.
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var what: String
        public var expected: String
        public var actual: String
        public var description: String { "\(what): expected \(expected), found \(actual)" }
    }

    /// Differences in values, completeness and indicator values (report bookkeeping aside: a
    /// recomputation from accepted reports has no record of withdrawn values).
    public static func compare(expected: InMemoryCellStore, actual: InMemoryCellStore) -> [Mismatch] {
        func summary(_ state: CellState?) -> String {
            guard let state, let value = state.value else { return "no value" }
            return "\(value) (completeness \(state.completeness), \(state.childrenReported)/\(state.childrenExpected) children)"
        }
        var mismatches: [Mismatch] = []
        let (expectedCells, actualCells) = (expected.allCells(), actual.allCells())
        let cellKeys = Set(expectedCells.keys).union(actualCells.keys)
        for key in cellKeys.sorted() {
            let e = expectedCells[key], a = actualCells[key]
            let same = e?.value == a?.value && (e?.value == nil || (e?.completeness == a?.completeness
                && e?.childrenReported == a?.childrenReported && e?.childrenExpected == a?.childrenExpected))
            if !same { mismatches.append(Mismatch(what: "cell \(key)", expected: summary(e), actual: summary(a))) }
        }
        let indicatorKeys = Set(expected.indicators.keys).union(actual.indicators.keys)
        for key in indicatorKeys.sorted() where expected.indicators[key] != actual.indicators[key] {
            mismatches.append(Mismatch(what: "indicator \(key)", expected: expected.indicators[key].map { $0.value.description } ?? "none",
                                       actual: actual.indicators[key].map { $0.value.description } ?? "none"))
        }
        return mismatches
    }
}

extension EngineAudit {
    /// Which cells and indicator values a check or a repair covers.
    public struct Scope: Sendable {
        public var units: Set<UnitCode>?
        public var period: Period?

        public init(units: Set<UnitCode>? = nil, period: Period? = nil) {
            self.units = units
            self.period = period
        }

        public func contains(_ unit: UnitCode, _ period: Period) -> Bool {
            (units?.contains(unit) ?? true) && (self.period.map { $0 == period } ?? true)
        }

        public func restrict(_ store: InMemoryCellStore) -> InMemoryCellStore {
            var restricted = store
            restricted.filterCells { contains($0.unit, $0.period) }
            restricted.indicators = restricted.indicators.filter { contains($0.key.unit, $0.key.period) }
            return restricted
        }
    }

    /// Writes the recomputed state wherever it differs from what the engine holds, in one
    /// transaction. dx-indicators keeps its provinces in memory: run this while it is stopped.
    public func repair(expected: InMemoryCellStore, actual: InMemoryCellStore, scope: Scope) async throws -> (cells: Int, indicators: Int) {
        var changes = IncrementalComputation.Changes()
        let (expectedCells, actualCells) = (expected.allCells(), actual.allCells())
        for key in Set(expectedCells.keys).union(actualCells.keys) where scope.contains(key.unit, key.period) && expectedCells[key] != actualCells[key] {
            changes.cells[key] = expectedCells[key] != nil
        }
        for key in Set(expected.indicators.keys).union(actual.indicators.keys) where scope.contains(key.unit, key.period) && expected.indicators[key] != actual.indicators[key] {
            changes.indicators[key] = .init(previous: actual.indicators[key], current: expected.indicators[key])
        }
        guard !changes.cells.isEmpty || !changes.indicators.isEmpty else { return (0, 0) }
        let repository = EngineRepository(catalog: catalog, logger: logger)
        let toWrite = changes
        try await database.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('engine.country'))", logger: logger)
            try await repository.write(repository.rows(changed: toWrite, in: expected), on: connection)
            // A dx-indicators that kept the country's rows in memory reads them again.
            try await repository.bumpCountryVersion(on: connection)
        }
        return (changes.cells.count, changes.indicators.count)
    }
}
