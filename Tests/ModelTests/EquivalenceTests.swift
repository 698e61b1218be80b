import DXModel
import Foundation
import Testing

/// Deterministic pseudo-random numbers (SplitMix64), so a failing seed can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random report histories over a catalog: reports with several revisions that change and
/// withdraw values, stale replays, events, values at every level, periods on both sides of
/// 1 July 2025.
struct RandomHistory {
    var inputs: [ObservationInput] = []
    var full = FullComputation.Inputs()

    init(catalog: Catalog, reports: Int, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let units = catalog.units.units.values.map(\.code).sorted()
        let elements = catalog.elements.values.sorted { $0.code < $1.code }
        var sequence: Int64 = 0

        func randomCell() -> CellKey? {
            let element = elements.randomElement(using: &rng)!
            let year = Int.random(in: 2022...2026, using: &rng)
            let period: Period = switch element.periodType {
            case .year: .year(year)
            case .quarter: .quarter(year, Int.random(in: 1...4, using: &rng))
            case .month: .month(year, Int.random(in: 1...12, using: &rng))
            }
            // Mostly leaves, sometimes a unit above them.
            let unit = units.randomElement(using: &rng)!
            guard catalog.units[unit]!.isValid(at: period) else { return nil }
            return CellKey(unit: unit, period: period, element: element.code)
        }
        func randomValue(_ key: CellKey) -> Quantity {
            let element = catalog.elements[key.element]!
            if element.valueType == .percent {
                return Quantity.divide(Quantity(Int.random(in: 0...10_000, using: &rng)), by: 100)
            }
            return Quantity(Int.random(in: 0...5_000, using: &rng))
        }

        for r in 0..<reports {
            let id = "report-\(r)"
            var cells: [CellKey: Quantity] = [:]
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                if let key = randomCell() { cells[key] = randomValue(key) }
            }
            var published: [[ObservationInput]] = []
            for revision in 1...Int.random(in: 1...3, using: &rng) {
                sequence += 1
                var revisionInputs: [ObservationInput] = []
                if revision > 1 {
                    // Change some values, withdraw some cells, add some; a revision gives its
                    // whole content, and what the previous one had but it lacks is withdrawn.
                    let previous = Set(cells.keys)
                    for key in cells.keys.sorted() {
                        switch Int.random(in: 0..<4, using: &rng) {
                        case 0: cells[key] = nil
                        case 1: cells[key] = randomValue(key)
                        default: break
                        }
                    }
                    if let key = randomCell(), cells[key] == nil { cells[key] = randomValue(key) }
                    for key in previous.subtracting(cells.keys).sorted() {
                        revisionInputs.append(.retracted(key, reportID: id, revision: revision, sequence: sequence))
                    }
                }
                for (key, value) in cells.sorted(by: { $0.key < $1.key }) {
                    revisionInputs.append(.reported(key, ReportedValue(reportID: id, revision: revision, sequence: sequence, value: value)))
                }
                published.append(revisionInputs)
                for input in revisionInputs {
                    switch input {
                    case .reported(let key, let value): full.add(key, value)
                    case .retracted(let key, let reportID, let revision, let sequence):
                        full.add(key, ReportedValue(reportID: reportID, revision: revision, sequence: sequence, value: nil))
                    case .delta: break
                    }
                }
            }
            inputs += published.flatMap { $0 }
            // Now and then an old revision is delivered again, late.
            if published.count > 1, Bool.random(using: &rng) {
                inputs += published[0]
            }
        }
        // Events: +1 deltas on monthly flows.
        let monthly = elements.filter { $0.periodType == .month }
        for _ in 0..<(reports * 3) {
            let element = monthly.randomElement(using: &rng)!
            let period = Period.month(Int.random(in: 2022...2026, using: &rng), Int.random(in: 1...12, using: &rng))
            let unit = units.randomElement(using: &rng)!
            guard catalog.units[unit]!.isValid(at: period) else { continue }
            let key = CellKey(unit: unit, period: period, element: element.code)
            inputs.append(.delta(key, 1))
            full.addDelta(key, 1)
        }
        inputs.shuffle(using: &rng)
    }
}

@Suite("Incremental equals full recomputation")
struct EquivalenceTests {
    static func runIncremental(_ inputs: [ObservationInput], catalog: Catalog, deferCountry: Bool, seed: UInt64) -> InMemoryCellStore {
        var rng = SeededGenerator(seed: seed ^ 0xABCDEF)
        let engine = IncrementalComputation(catalog: catalog, deferredUnits: deferCountry ? [.country] : [])
        let countryPass = IncrementalComputation(catalog: catalog)
        var store = InMemoryCellStore()
        var index = 0
        while index < inputs.count {
            let size = Int.random(in: 1...40, using: &rng)
            let batch = Array(inputs[index..<min(inputs.count, index + size)])
            index += size
            let changes = engine.apply(batch, to: &store)
            if !changes.deferred.isEmpty {
                _ = countryPass.recompute(nativeCells: changes.deferred, in: &store)
            }
        }
        return store
    }

    static func compare(_ incremental: InMemoryCellStore, _ full: InMemoryCellStore) {
        let (incrementalCells, fullCells) = (incremental.allCells(), full.allCells())
        let cellKeys = Set(incrementalCells.keys).union(fullCells.keys)
        var cellMismatches = 0
        for key in cellKeys.sorted() where incrementalCells[key] != fullCells[key] {
            cellMismatches += 1
            if cellMismatches <= 5 {
                Issue.record("cell \(key): incremental \(String(describing: incrementalCells[key])) vs full \(String(describing: fullCells[key]))")
            }
        }
        let indicatorKeys = Set(incremental.indicators.keys).union(full.indicators.keys)
        var indicatorMismatches = 0
        for key in indicatorKeys.sorted() where incremental.indicators[key] != full.indicators[key] {
            indicatorMismatches += 1
            if indicatorMismatches <= 5 {
                Issue.record("indicator \(key): incremental \(String(describing: incremental.indicators[key])) vs full \(String(describing: full.indicators[key]))")
            }
        }
        #expect(cellMismatches == 0)
        #expect(indicatorMismatches == 0)
        #expect(full.cellCount > 0)
    }

    @Test("random histories, batched and shuffled, with and without the deferred country pass", arguments: Array(UInt64(1)...UInt64(12)))
    func randomHistories(seed: UInt64) {
        let catalog = TestCatalog.catalog
        let history = RandomHistory(catalog: catalog, reports: 60, seed: seed)
        let full = FullComputation(catalog: catalog).compute(history.full)
        for deferCountry in [false, true] {
            let incremental = Self.runIncremental(history.inputs, catalog: catalog, deferCountry: deferCountry, seed: seed)
            Self.compare(incremental, full)
        }
    }

    /// dx-indicators writes a batch's changes and nothing else, and loads a province's state
    /// back from what it wrote: the changes must carry every difference, own inputs included
    /// (a report or an event that leaves the value as it was still changes what a later
    /// withdrawal falls back to).
    @Test("each batch's changes, applied to the store before it, give the store after it", arguments: Array(UInt64(1)...UInt64(8)))
    func changesMirrorTheStore(seed: UInt64) {
        let catalog = TestCatalog.catalog
        let history = RandomHistory(catalog: catalog, reports: 60, seed: seed)
        var rng = SeededGenerator(seed: seed ^ 0x5EED)
        let engine = IncrementalComputation(catalog: catalog, deferredUnits: [.country])
        let countryPass = IncrementalComputation(catalog: catalog)
        var store = InMemoryCellStore()
        var mirror = InMemoryCellStore()
        var index = 0
        while index < history.inputs.count {
            let size = Int.random(in: 1...40, using: &rng)
            var changes = engine.apply(Array(history.inputs[index..<min(history.inputs.count, index + size)]), to: &store)
            index += size
            if !changes.deferred.isEmpty {
                changes.merge(countryPass.recompute(nativeCells: changes.deferred, in: &store))
            }
            for (key, exists) in changes.cells {
                #expect(exists == (store.cell(key) != nil), "\(key) recorded as \(exists ? "written" : "removed")")
                mirror.setCell(key, store.cell(key))
            }
            for (key, change) in changes.indicators { mirror.indicators[key] = change.current }
            let (kept, written) = (store.allCells(), mirror.allCells())
            let differing = Set(kept.keys).union(written.keys).filter { kept[$0] != written[$0] }.sorted()
            #expect(differing.isEmpty, "after \(index) inputs, \(differing.count) cells differ from what was written, first \(differing.first.map { "\($0): kept \(String(describing: kept[$0])), written \(String(describing: written[$0]))" } ?? "")")
            #expect(mirror.indicators == store.indicators, "after \(index) inputs")
            guard differing.isEmpty else { return }
        }
    }

    @Test("delivery order does not matter")
    func orderIndependence() {
        let catalog = TestCatalog.catalog
        let history = RandomHistory(catalog: catalog, reports: 80, seed: 99)
        var rng = SeededGenerator(seed: 7)
        let first = Self.runIncremental(history.inputs, catalog: catalog, deferCountry: false, seed: 1)
        let second = Self.runIncremental(history.inputs.shuffled(using: &rng), catalog: catalog, deferCountry: true, seed: 2)
        Self.compare(first, second)
    }
}
