import DXModel
import DXStore
import Foundation
import Testing

/// The real catalog files: what `dx catalog check` verifies, what `dx catalog load` writes.
@Suite("Catalog: units before and after 1 July 2025, indicators, seed dataset")
struct CatalogTests {
    let files = TestDatabase.catalogFiles

    @Test("the files are consistent and have 34 / 3,321 current and 63 / 696 / 10,051 pre-2025 units")
    func counts() {
        #expect(CatalogValidation.problems(in: files).isEmpty, "\(CatalogValidation.problems(in: files).prefix(5))")
        let counts = Dictionary(uniqueKeysWithValues: CatalogValidation.unitCounts(files).map { ("\($0.tree.rawValue)/\($0.level.rawValue)", $0.count) })
        #expect(counts == [
            "current/country": 1, "current/province": 34, "current/commune": 3321,
            "pre2025/province": 63, "pre2025/district": 696, "pre2025/commune": 10051,
        ])
        // Official codes and names as published, with diacritics.
        let units = files.catalog.units
        #expect(units["old-66"]?.name == "Tỉnh Đắk Lắk")
        #expect(units["old-648"]?.name == "Huyện Cư M'gar")
        #expect(units["old-648"]?.officialCode == "648")
        #expect(units["old-648"]?.parent == "old-66")
        // Every old province merged whole into one new province.
        let provinceSuccessions = files.successions.filter { units[$0.old]?.level == .province }
        #expect(provinceSuccessions.count == 63)
        #expect(provinceSuccessions.allSatisfy { $0.kind == .whole && units[$0.new]?.level == .province })
    }

    @Test("every seed ratio agrees with the percentage its article prints")
    func seedChecks() {
        let results = SeedCheckEvaluation.evaluate(files)
        #expect(results.count >= 10)
        for result in results {
            #expect(result.agrees, "\(result.check.unit) \(result.check.indicator): \(result.reason ?? "")")
        }
        let fibre = results.first { $0.check.unit == "old-467" && $0.check.indicator == "household_fibre_rate" }
        #expect(fibre?.computed.map { VietnameseNumberFormat.format($0) } == "35,44")
    }

    @Test("every seed observation names a unit, element and period that exist and fit")
    func seedObservations() {
        #expect(files.seedObservations.count > 40)
        for observation in files.seedObservations {
            #expect(ObservationRules.problem(unit: observation.unit, period: observation.period, element: observation.element,
                                             value: observation.value, catalog: files.catalog, today: nil) == nil, "line \(observation.line)")
            #expect(!observation.quote.isEmpty && observation.sourceFile.hasSuffix(".txt"))
        }
    }

    @Test("loading twice leaves the same rows; a changed file changes only what changed")
    func idempotentLoad() async throws {
        let database = try await TestDatabase.create("catalog")
        let files = self.files
        try await database.withAdmin { db in
            let repository = CatalogRepository(database: db, logger: TestEnvironment.logger("catalog"))
            func snapshot() async throws -> String {
                var text = ""
                for table in ["units", "successions", "data_elements", "indicators", "targets"] {
                    for try await digest in try await db.query("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM catalog.\(unescaped: table) t").decode(String.self) {
                        text += "\(table):\(digest);"
                    }
                }
                return text
            }
            let before = try await snapshot()
            let again = try await repository.load(files)
            #expect(again.isUnchanged, "\(again)")
            #expect(try await snapshot() == before)

            var changed = files
            let index = changed.units.firstIndex { $0.code == "old-648" }!
            changed.units[index].ascii = "huyen cu mgar"
            changed.targets.removeLast()
            let summary = try await repository.load(changed)
            let units = summary.changes.first { $0.table == "units" }!
            #expect(units.updated == 1 && units.inserted == 0 && units.deleted == 0)
            let targets = summary.changes.first { $0.table == "targets" }!
            #expect(targets.deleted == 1 && targets.updated == 0 && targets.inserted == 0)
            #expect(try await repository.load(files).changes.map { $0.inserted + $0.updated + $0.deleted }.reduce(0, +) == 2)
            #expect(try await snapshot() == before)
            // What the services read back is the catalog of the files.
            let read = try await repository.read()
            #expect(read.units.count == files.units.count)
            #expect(read.units["old-648"] == files.catalog.units["old-648"])
        }
    }

    @Test("pre-2025 provinces continue exactly into their successor: Đắk Nông + Bình Thuận + Lâm Đồng 2022 → Lâm Đồng")
    func provinceContinuity() throws {
        let catalog = files.catalog
        #expect(catalog.units["old-67"]?.name == "Tỉnh Đắk Nông")
        #expect(catalog.units["old-60"]?.name == "Tỉnh Bình Thuận")
        #expect(catalog.units["old-68"]?.name == "Tỉnh Lâm Đồng")
        #expect(catalog.units["68"]?.name == "Tỉnh Lâm Đồng")
        #expect(Set(["old-67", "old-60", "old-68"].compactMap { catalog.units[UnitCode($0)]?.parent }) == ["68"])

        func report(_ unit: String, _ value: String, _ id: String) -> ObservationInput {
            .reported(CellKey(unit: UnitCode(unit), period: .year(2022), element: "households_total"),
                      ReportedValue(reportID: id, revision: 1, sequence: 1, value: Quantity.parse(value)!))
        }
        var store = InMemoryCellStore()
        _ = IncrementalComputation(catalog: catalog).apply([
            report("old-67", "186432", "dak-nong"), report("old-60", "334107.5", "binh-thuan"), report("old-68", "374930", "lam-dong"),
        ], to: &store)
        let lamDong = try #require(store.cell(CellKey(unit: "68", period: .year(2022), element: "households_total")))
        #expect(lamDong.value == Quantity.parse("895469.5"))
        #expect(lamDong.childrenReported == 3 && lamDong.childrenExpected == 3 && lamDong.completeness == 1)
        // In 2026 the same province expects its current communes instead.
        #expect(catalog.units.children(of: "68", validAt: .year(2026)).allSatisfy { catalog.units[$0]?.tree == .current })
        #expect(catalog.units.children(of: "68", validAt: .year(2022)).sorted() == ["old-60", "old-67", "old-68"])
    }
}
