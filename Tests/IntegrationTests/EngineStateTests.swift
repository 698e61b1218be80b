import DXModel
import DXStore
import Foundation
@testable import Indicators
import Testing

/// dx-indicators keeps a province's state in memory and loads it from PostgreSQL after a start
/// or a rebalance. What it loads must be exactly what it had: a report value read back wrong
/// stays hidden until that report is the one a cell falls back to.
@Suite("Engine state: what dx-indicators writes, it loads back exactly")
struct EngineStateTests {
    @Test("a province's cells (several reports each, withdrawals, deltas) and indicator values survive a write and a load, twice")
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
            let rows = repository.rows(changed: changes, in: store, insertingCreated: true)
            try await database.withAdmin { db in
                try await db.withTransaction { connection in
                    try await repository.write(rows, on: connection)
                }
            }
            let loaded = try await database.withAdmin { db in
                try await db.withTransaction { connection in try await repository.loadProvince(province, on: connection) }
            }
            let cells = store.allCells()
            let several = cells.values.filter { $0.reports.count > 1 }.count
            #expect(several > 100, "round \(round): only \(several) cells have more than one report")
            #expect(loaded.cellCount == cells.count, "round \(round): missing \(cells.filter { loaded.cell($0.key) == nil }.map { "\($0.key) \($0.value) changed: \(String(describing: changes.cells[$0.key])) created: \(changes.createdCells.contains($0.key))" })")
            #expect(loaded.indicators.count == store.indicators.count, "round \(round)")
            let wrongCells = cells.filter { loaded.cell($0.key) != $0.value }.map(\.key).sorted()
            let wrongIndicators = store.indicators.filter { loaded.indicators[$0.key] != $0.value }.map(\.key).sorted()
            #expect(wrongCells.isEmpty, "round \(round): \(wrongCells.count) cells differ, first \(wrongCells.first.map { "\($0): \(String(describing: cells[$0])) loaded as \(String(describing: loaded.cell($0)))" } ?? "")")
            #expect(wrongIndicators.isEmpty, "round \(round): \(wrongIndicators.count) indicator values differ, first \(wrongIndicators.first.map(\.description) ?? "")")
        }
    }
}
