import DXModel
import DXStore
import Foundation
import PostgresNIO
@testable import Indicators
import Testing

/// Migration 8 moves the engine's state from a row per cell and per indicator value to a row per
/// unit and period. A deployment upgrading keeps every number it had, and its reports read the same.
@Suite("Migration 8: the engine's state as a row per unit and period")
struct UnitPeriodMigrationTests {
    @Test("cells and indicator values in the old tables load back exactly after the migration, and the reporting views read the same rows")
    func migratesRowTables() async throws {
        let database = try await TestDatabase.create("unit_periods", migrations: Migration.all.filter { $0.version < 8 })
        let catalog = TestDatabase.catalogFiles.catalog
        var random = try #require(RandomProvinceInputs(catalog: catalog, seed: 8))
        let province = random.province
        var store = InMemoryCellStore()
        _ = IncrementalComputation(catalog: catalog, deferredUnits: [.country]).apply(random.next(4_000), to: &store)
        let cells = store.allCells()
        #expect(cells.values.filter { $0.reports.count > 1 }.count > 100)
        #expect(cells.values.contains { $0.deltaCount > 0 && !$0.reports.isEmpty })
        #expect(store.indicators.count > 100)

        // As dx-indicators wrote them before migration 8.
        let cellRows: [[String?]] = cells.map { key, state in
            [key.unit.rawValue, key.period.description, key.element, province.rawValue, state.value?.description,
             state.completeness.description, String(state.childrenReported), String(state.childrenExpected),
             state.deltaSum.description, String(state.deltaCount), ReportsColumn.json(state.reports)]
        }
        let indicatorRows: [[String?]] = store.indicators.map { key, value in
            [key.unit.rawValue, key.period.description, key.indicator, province.rawValue, key.period.type.rawValue,
             key.period.end.description, value.value.description, value.numerator?.description, value.denominator?.description,
             value.completeness.description, value.target?.description, value.targetYear.map(String.init), value.gap?.description,
             value.meetsTarget.map { $0 ? "t" : "f" }]
        }
        let logger = TestEnvironment.logger("unit-periods")
        /// Every row of the two reporting views the migration re-points, counted and hashed.
        @Sendable func reportingFingerprint(_ db: Database) async throws -> String {
            let rows = try await db.query("""
                SELECT (SELECT count(*) || ' ' || md5(string_agg(c::text, '|' ORDER BY c::text)) FROM reporting.cell_values c)
                    || ' / ' || (SELECT count(*) || ' ' || md5(string_agg(v::text, '|' ORDER BY v::text)) FROM reporting.indicator_values v)
                """)
            for try await fingerprint in rows.decode(String.self) { return fingerprint }
            return ""
        }
        let before = try await database.withAdmin { db in
            try await db.withTransaction { connection in
                try await connection.copy(cellRows, into: "engine.cells", columns: [
                    "unit", "period", "element", "province", "value", "completeness", "children_reported", "children_expected",
                    "delta_sum", "delta_count", "reports",
                ], logger: logger)
                try await connection.copy(indicatorRows, into: "engine.indicator_values", columns: [
                    "unit", "period", "indicator", "province", "period_type", "period_end", "value", "numerator", "denominator",
                    "completeness", "target", "target_year", "gap", "meets_target",
                ], logger: logger)
            }
            return try await reportingFingerprint(db)
        }

        let applied = try await database.withAdmin { db in
            try await Migrator(logger: logger).migrate(db, roles: Migrator.roles(environment: [:]))
        }
        // Migration 8 and every one after it, in order.
        #expect(applied == Migration.all.map(\.version).filter { $0 >= 8 })

        let (loaded, after, rowCount) = try await database.withAdmin { db in
            let loaded = try await db.withConnection { connection in
                try await EngineRepository(catalog: catalog, logger: logger).loadProvince(province, on: connection)
            }
            var rows = 0
            for try await count in try await db.query("SELECT count(*)::int FROM engine.unit_periods").decode(Int.self) { rows = count }
            return (loaded, try await reportingFingerprint(db), rows)
        }
        let unitPeriods = Set(cells.keys.map { "\($0.unit) \($0.period)" }).union(store.indicators.keys.map { "\($0.unit) \($0.period)" })
        #expect(rowCount == unitPeriods.count)
        #expect(loaded.cellCount == cells.count)
        #expect(loaded.indicators.count == store.indicators.count)
        let wrongCells = cells.filter { loaded.cell($0.key) != $0.value }.map(\.key).sorted()
        let wrongIndicators = store.indicators.filter { loaded.indicators[$0.key] != $0.value }.map(\.key).sorted()
        #expect(wrongCells.isEmpty, "\(wrongCells.count) cells differ, first \(wrongCells.first.map { "\($0): \(String(describing: cells[$0])) loaded as \(String(describing: loaded.cell($0)))" } ?? "")")
        #expect(wrongIndicators.isEmpty, "\(wrongIndicators.count) indicator values differ, first \(wrongIndicators.first.map(\.description) ?? "")")
        #expect(after == before, "the reporting views read other rows after the migration")
    }
}
