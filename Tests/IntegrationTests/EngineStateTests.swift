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
        let units = catalog.units
        let province = try #require(units.children(of: .country).sorted().first)
        let communes = Array(units.children(of: province, validAt: .month(2025, 8)).sorted().prefix(12))
        let elements = catalog.elements.values.filter { $0.periodType == .month }.map(\.code).sorted()
        try #require(communes.count == 12 && elements.count >= 4)
        let engine = IncrementalComputation(catalog: catalog, deferredUnits: [.country])
        let repository = EngineRepository(catalog: catalog, logger: TestEnvironment.logger("engine-state"))

        // Ids with what jsonb and COPY escape; values with decimals and signs.
        let reportIDs = ["r-1", "báo-cáo \"Xã\" 2", #"back\slash"#, "tab\tid", "r-9"]
        var rng = SeededGenerator(seed: 411)
        var sequence: Int64 = 0
        func inputs(_ count: Int) -> [ObservationInput] {
            (0..<count).map { _ in
                sequence += 1
                let key = CellKey(unit: communes.randomElement(using: &rng)!, period: .month(2025, Int.random(in: 7...12, using: &rng)),
                                  element: elements.randomElement(using: &rng)!)
                let report = reportIDs.randomElement(using: &rng)!
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: return .retracted(key, reportID: report, revision: Int.random(in: 1...9, using: &rng), sequence: sequence)
                case 1: return .delta(key, Quantity(Int.random(in: 1...5, using: &rng)))
                default:
                    let value = Quantity.parse("\(Int.random(in: 0...90_000, using: &rng)).\(Int.random(in: 0...99, using: &rng))")!
                    return .reported(key, ReportedValue(reportID: report, revision: Int.random(in: 1...9, using: &rng), sequence: sequence, value: value))
                }
            }
        }

        var store = InMemoryCellStore()
        for round in 1...2 {
            let changes = engine.apply(inputs(3_000), to: &store)
            try await database.withAdmin { db in
                try await db.withTransaction { connection in
                    try await repository.write(changes, insertingCreated: true, on: connection)
                }
            }
            let loaded = try await database.withAdmin { db in
                try await db.withTransaction { connection in try await repository.loadProvince(province, on: connection) }
            }
            let several = store.cells.values.filter { $0.reports.count > 1 }.count
            #expect(several > 100, "round \(round): only \(several) cells have more than one report")
            #expect(loaded.cells.count == store.cells.count, "round \(round): missing \(store.cells.filter { loaded.cells[$0.key] == nil }.map { "\($0.key) \($0.value) changed: \(String(describing: changes.cells[$0.key])) created: \(changes.createdCells.contains($0.key))" })")
            #expect(loaded.indicators.count == store.indicators.count, "round \(round)")
            let wrongCells = store.cells.filter { loaded.cells[$0.key] != $0.value }.map(\.key).sorted()
            let wrongIndicators = store.indicators.filter { loaded.indicators[$0.key] != $0.value }.map(\.key).sorted()
            #expect(wrongCells.isEmpty, "round \(round): \(wrongCells.count) cells differ, first \(wrongCells.first.map { "\($0): \(String(describing: store.cells[$0])) loaded as \(String(describing: loaded.cells[$0]))" } ?? "")")
            #expect(wrongIndicators.isEmpty, "round \(round): \(wrongIndicators.count) indicator values differ, first \(wrongIndicators.first.map(\.description) ?? "")")
        }
    }
}
