import DXModel
import DXStore
import Foundation
import PostgresNIO
@testable import Indicators
import Testing

/// dx-indicators keeps a province's state in memory and loads it from PostgreSQL after a start
/// or a rebalance. What it loads must be exactly what it had: a report value read back wrong
/// stays hidden until that report is the one a cell falls back to.
@Suite("Engine state: what dx-indicators writes, it loads back exactly")
struct EngineStateTests {
    @Test("a province's cells (several reports each, withdrawals, deltas) and indicator values survive a write and a load, twice; only rows the table lacks are inserted")
    func provinceRoundTrip() async throws {
        let database = try await TestDatabase.create("engine_state")
        let catalog = TestDatabase.catalogFiles.catalog
        var random = try #require(RandomProvinceInputs(catalog: catalog, seed: 411))
        let province = random.province
        let engine = IncrementalComputation(catalog: catalog, deferredUnits: [.country])
        let repository = EngineRepository(catalog: catalog, logger: TestEnvironment.logger("engine-state"))

        var store = InMemoryCellStore()
        for round in 1...2 {
            let changes = engine.apply(random.next(3_000), to: &store)
            let rows = repository.rows(changed: changes, mirroredBy: &store)
            let (before, after) = try await database.withAdmin { db in
                try await db.withTransaction { connection in
                    let before = try await Self.rowKeys(of: province, on: connection)
                    try await repository.write(rows, on: connection)
                    return (before, try await Self.rowKeys(of: province, on: connection))
                }
            }
            // A row is inserted exactly when the table did not have it, and the store knows
            // afterwards which rows the table has.
            let inserted = Set(rows.inserts.map(\.key))
            let upserted = Set(rows.upserts.map(\.key))
            if round == 1 { #expect(!inserted.isEmpty && upserted.isEmpty, "round 1 writes into an empty table") }
            #expect(inserted.isDisjoint(with: before), "round \(round): inserted rows the table had")
            #expect(upserted.isSubset(of: before), "round \(round): upserted \(upserted.subtracting(before).count) rows the table did not have")
            #expect(store.storedRows == after, "round \(round)")
            if round == 2 { #expect(!upserted.isEmpty, "round 2 changes rows of round 1") }
            let loaded = try await database.withAdmin { db in
                try await db.withTransaction { connection in try await repository.loadProvince(province, on: connection) }
            }
            #expect(loaded.storedRows == store.storedRows, "round \(round)")
            let cells = store.allCells()
            let several = cells.values.filter { $0.reports.count > 1 }.count
            #expect(several > 100, "round \(round): only \(several) cells have more than one report")
            #expect(loaded.cellCount == cells.count, "round \(round): missing \(cells.filter { loaded.cell($0.key) == nil }.map { "\($0.key) \($0.value) changed: \(String(describing: changes.cells[$0.key]))" })")
            #expect(loaded.indicators.count == store.indicators.count, "round \(round)")
            let wrongCells = cells.filter { loaded.cell($0.key) != $0.value }.map(\.key).sorted()
            let wrongIndicators = store.indicators.filter { loaded.indicators[$0.key] != $0.value }.map(\.key).sorted()
            #expect(wrongCells.isEmpty, "round \(round): \(wrongCells.count) cells differ, first \(wrongCells.first.map { "\($0): \(String(describing: cells[$0])) loaded as \(String(describing: loaded.cell($0)))" } ?? "")")
            #expect(wrongIndicators.isEmpty, "round \(round): \(wrongIndicators.count) indicator values differ, first \(wrongIndicators.first.map(\.description) ?? "")")
        }
    }

    /// The rows `engine.unit_periods` holds of a province.
    static func rowKeys(of province: UnitCode, on connection: PostgresConnection) async throws -> Set<UnitPeriod> {
        var keys = Set<UnitPeriod>()
        let rows = try await connection.query("SELECT unit, period FROM engine.unit_periods WHERE province = \(province.rawValue)", logger: TestEnvironment.logger("engine-state"))
        for try await (unit, period) in rows.decode((String, String).self) {
            keys.insert(UnitPeriod(unit: UnitCode(unit), period: try #require(Period(period), "period '\(period)'")))
        }
        return keys
    }
}
