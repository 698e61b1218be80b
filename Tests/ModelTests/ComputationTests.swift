import DXModel
import Foundation
import Testing

@Suite("Semantics of computation")
struct ComputationTests {
    let catalog = TestCatalog.catalog

    func key(_ unit: String, _ period: String, _ element: String) -> CellKey {
        CellKey(unit: UnitCode(unit), period: Period(period)!, element: element)
    }

    func report(_ unit: String, _ period: String, _ element: String, _ value: Quantity, id: String = "r", revision: Int = 1, sequence: Int64 = 1) -> ObservationInput {
        .reported(key(unit, period, element), ReportedValue(reportID: id, revision: revision, sequence: sequence, value: value))
    }

    func run(_ inputs: [ObservationInput], store: inout InMemoryCellStore) -> IncrementalComputation.Changes {
        IncrementalComputation(catalog: catalog).apply(inputs, to: &store)
    }

    @Test("a ratio at a parent comes from summed numerators and denominators, not averaged ratios")
    func ratioFromAggregates() {
        var store = InMemoryCellStore()
        _ = run([
            report("01001", "2026", "households_with_fibre", 1), report("01001", "2026", "households_total", 2),
            report("01002", "2026", "households_with_fibre", 1), report("01002", "2026", "households_total", 8),
        ], store: &store)
        let province = store.indicators[IndicatorKey(unit: "01", period: .year(2026), indicator: "household_fibre_rate")]
        #expect(province?.value == 20)  // 2/10, where the mean of 50% and 12.5% would be 31.25%
        #expect(province?.numerator == 2)
        #expect(province?.denominator == 10)
        // 2 of the province's 3 communes reported.
        #expect(province?.completeness == .d("0.6666666667"))
        #expect(province?.target == 95)
        #expect(province?.targetYear == 2030)
        #expect(province?.gap == 75)
        #expect(province?.meetsTarget == false)
        #expect(store.indicators[IndicatorKey(unit: "VN", period: .year(2026), indicator: "household_fibre_rate")]?.value == 20)
    }

    @Test("a period is measured against the first target due in or after its year")
    func targetOfAPeriod() throws {
        let use = try #require(catalog.use(ofIndicator: "household_fibre_rate"))
        for (period, year) in [(Period.year(2023), 2025), (.month(2025, 7), 2025), (.quarter(2026, 1), 2030), (.year(2030), 2030)] {
            #expect(use.bar(for: period) == Target.Bar(year: year, value: year == 2025 ? 80 : 95, comparison: .atLeast))
            #expect(use.bar(for: period) == use.target(for: period)?.bar)
        }
        #expect(use.bar(for: .year(2031)) == nil)
        #expect(use.target(for: .year(2031)) == nil)
        #expect(Target.Bar(year: 2025, value: 80, comparison: .atLeast).isMet(by: 80))
        #expect(!Target.Bar(year: 2025, value: 80, comparison: .moreThan).isMet(by: 80))
    }

    @Test("a value reported for a unit is authoritative over its children")
    func directValueWins() {
        var store = InMemoryCellStore()
        _ = run([
            report("old-10101", "2023", "households_total", 100),
            report("old-10102", "2023", "households_total", 50),
            report("old-101", "2023", "households_total", 1000, id: "district"),
        ], store: &store)
        #expect(store.cell(key("old-101", "2023", "households_total"))?.value == 1000)
        #expect(store.cell(key("old-101", "2023", "households_total"))?.completeness == 1)
        #expect(store.cell(key("old-01", "2023", "households_total"))?.value == 1000)
    }

    @Test("pre-2025 provinces roll into the province they merged into, exactly")
    func successionRollUp() {
        var store = InMemoryCellStore()
        _ = run([
            report("old-01", "2022", "households_total", .d("1234.5")),
            report("old-03", "2022", "households_total", 766),
            report("old-02", "2022", "households_total", 10),
        ], store: &store)
        #expect(store.cell(key("01", "2022", "households_total"))?.value == .d("2000.5"))
        #expect(store.cell(key("01", "2022", "households_total"))?.childrenExpected == 2)
        #expect(store.cell(key("VN", "2022", "households_total"))?.value == .d("2010.5"))
        // After 1 July 2025 the same province expects its communes instead.
        _ = run([report("01001", "2025", "households_total", 5)], store: &store)
        #expect(store.cell(key("01", "2025", "households_total"))?.childrenExpected == 3)
    }

    @Test("reported rates roll up as a weighted mean only where every child has the weight")
    func weightedRates() {
        var store = InMemoryCellStore()
        _ = run([
            report("01001", "2026", "households_with_fibre_rate", 50), report("01001", "2026", "households_total", 100),
            report("01002", "2026", "households_with_fibre_rate", 80), report("01002", "2026", "households_total", 300),
        ], store: &store)
        #expect(store.cell(key("01", "2026", "households_with_fibre_rate"))?.value == Quantity.divide(725, by: 10))  // (5000+24000)/400
        // A third commune reports the rate without the weight: no roll-up at all.
        _ = run([report("01003", "2026", "households_with_fibre_rate", 10)], store: &store)
        #expect(store.cell(key("01", "2026", "households_with_fibre_rate")) == nil)
        // The weight arrives: the roll-up comes back, including it.
        _ = run([report("01003", "2026", "households_total", 100)], store: &store)
        #expect(store.cell(key("01", "2026", "households_with_fibre_rate"))?.value == Quantity(60))  // (5000+24000+1000)/500
        // A rate without a weight element is never rolled up.
        _ = run([report("01001", "2026", "smartphone_rate", 90)], store: &store)
        #expect(store.cell(key("01", "2026", "smartphone_rate")) == nil)
    }

    @Test("flows sum months into quarters and years; stocks take the latest value")
    func timeAggregation() {
        var store = InMemoryCellStore()
        _ = run([
            report("02001", "2026-01", "dossiers_received", 10), report("02001", "2026-02", "dossiers_received", 20),
            report("02001", "2026-04", "dossiers_received", 5),
            report("02001", "2026-Q1", "villages_with_4g", 3), report("02001", "2026-Q3", "villages_with_4g", 7),
        ], store: &store)
        #expect(store.cell(key("02001", "2026-Q1", "dossiers_received"))?.value == 30)
        #expect(store.cell(key("02001", "2026-Q1", "dossiers_received"))?.completeness == .d("0.6666666667"))
        #expect(store.cell(key("02001", "2026", "dossiers_received"))?.value == 35)
        #expect(store.cell(key("02001", "2026", "dossiers_received"))?.completeness == .d("0.25"))
        #expect(store.cell(key("02001", "2026", "villages_with_4g"))?.value == 7)
        #expect(store.cell(key("02", "2026", "dossiers_received"))?.value == 35)
    }

    @Test("events add deltas; a report for the same cell overrides them")
    func deltas() {
        var store = InMemoryCellStore()
        let cell = key("01001", "2026-03", "dossiers_received")
        _ = run([.delta(cell, 1), .delta(cell, 1), .delta(cell, 1)], store: &store)
        #expect(store.cell(cell)?.value == 3)
        #expect(store.cell(key("01", "2026-Q1", "dossiers_received"))?.value == 3)
        _ = run([report("01001", "2026-03", "dossiers_received", 40)], store: &store)
        #expect(store.cell(cell)?.value == 40)
    }

    @Test("revisions: higher replaces, lower is ignored, a withdrawn value falls back to the next report")
    func revisions() {
        var store = InMemoryCellStore()
        let cell = key("02002", "2026", "households_total")
        _ = run([report("02002", "2026", "households_total", 10, id: "a", revision: 1, sequence: 1)], store: &store)
        _ = run([report("02002", "2026", "households_total", 20, id: "b", revision: 1, sequence: 2)], store: &store)
        #expect(store.cell(cell)?.value == 20)
        _ = run([report("02002", "2026", "households_total", 30, id: "a", revision: 2, sequence: 3)], store: &store)
        #expect(store.cell(cell)?.value == 30)
        let stale = run([report("02002", "2026", "households_total", 99, id: "a", revision: 1, sequence: 4)], store: &store)
        #expect(stale.ignoredInputs == 1)
        #expect(store.cell(cell)?.value == 30)
        _ = run([.retracted(cell, reportID: "a", revision: 3, sequence: 5)], store: &store)
        #expect(store.cell(cell)?.value == 20)
        // A stale revision after the withdrawal does not bring the value back.
        _ = run([report("02002", "2026", "households_total", 30, id: "a", revision: 2, sequence: 3)], store: &store)
        #expect(store.cell(cell)?.value == 20)
        _ = run([.retracted(cell, reportID: "b", revision: 2, sequence: 6)], store: &store)
        #expect(store.cell(cell)?.value == nil)
        #expect(store.cell(key("02", "2026", "households_total")) == nil)
    }

    @Test("only changed indicators are reported, each with its previous value")
    func changesCarryPrevious() {
        var store = InMemoryCellStore()
        _ = run([report("01001", "2026", "households_with_fibre", 30), report("01001", "2026", "households_total", 100)], store: &store)
        let changes = run([report("01001", "2026", "households_with_fibre", 90, revision: 2, sequence: 2)], store: &store)
        let commune = changes.indicators[IndicatorKey(unit: "01001", period: .year(2026), indicator: "household_fibre_rate")]
        #expect(commune?.previous?.value == 30)
        #expect(commune?.current?.value == 90)
        #expect(commune?.current?.meetsTarget == false)
        let again = run([report("01001", "2026", "households_with_fibre", 90, revision: 2, sequence: 2)], store: &store)
        #expect(again.indicators.isEmpty)
        #expect(again.ignoredInputs == 1)
    }

    @Test("each ancestor is computed once per batch, however many observations touch it")
    func ancestorsOncePerBatch() {
        var store = InMemoryCellStore()
        let inputs = ["01001", "01002", "01003"].map { report($0, "2026", "households_with_fibre", 1, id: $0) }
        let changes = run(inputs, store: &store)
        // 3 communes + province + country, once each.
        #expect(changes.recomputations == 5)
        // A weight also makes the rates it weighs recomputed, once per ancestor.
        let weights = run(["01001", "01002", "01003"].map { report($0, "2026", "households_total", 1, id: $0) }, store: &store)
        #expect(weights.recomputations == 3 + 2 * 2)
    }
}
