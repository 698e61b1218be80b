import DXModel
import Foundation
import Testing

/// The store keeps cells a year of one unit and element at a time; what goes in must come out
/// under the same keys, whichever way a key is made.
@Suite("The in-memory cell store, by year of unit and element")
struct CellStoreTests {
    static let elements = ["E01", "households_total", "tỉ_lệ_hồ_sơ", "tỉ_lệ_hồ_sơ".decomposedStringWithCanonicalMapping + "_x"]
    static let units: [UnitCode] = ["01", "00004", "old-101", "VN"]

    static func periods(_ year: Int) -> [Period] {
        (1...12).map { .month(year, $0) } + (1...4).map { .quarter(year, $0) } + [.year(year)]
    }

    @Test("a cell's key made from its year's word is the key made from its codes")
    func keysFromTheYear() {
        for unit in Self.units {
            for element in Self.elements {
                for year in [2024, 2025] {
                    let yearKey = CellYearKey(unit: unit, year: year, element: element)
                    for (slot, period) in Self.periods(year).enumerated() {
                        let direct = CellKey(unit: unit, period: period, element: element)
                        #expect(CellYear.slot(of: period) == slot)
                        let fromYear = yearKey.cell(atSlot: slot)
                        #expect(fromYear == direct)
                        #expect(fromYear._rawHashValue(seed: 17) == direct._rawHashValue(seed: 17))
                        #expect(CellYearKey(direct) == yearKey)
                        #expect(CellYearKey(direct)._rawHashValue(seed: 3) == yearKey._rawHashValue(seed: 3))
                    }
                }
            }
        }
    }

    @Test("random writes, removals and in-place changes read back as a plain dictionary of the same cells")
    func matchesADictionary() {
        var rng = SeededGenerator(seed: 2025)
        var store = InMemoryCellStore()
        var reference: [CellKey: CellState] = [:]
        let keys = Self.units.flatMap { unit in
            Self.elements.flatMap { element in
                (Self.periods(2024) + Self.periods(2025)).map { CellKey(unit: unit, period: $0, element: element) }
            }
        }
        for step in 0..<4_000 {
            let key = keys.randomElement(using: &rng)!
            switch Int.random(in: 0..<4, using: &rng) {
            case 0:
                store.setCell(key, nil)
                reference[key] = nil
            case 1:
                // In place: a delta added to what is there, or a new cell.
                store.modifyCell(key) { state in
                    var cell = state ?? CellState()
                    cell.deltaSum += Quantity(step)
                    cell.deltaCount += 1
                    cell.value = cell.deltaSum
                    state = cell
                }
                var cell = reference[key] ?? CellState()
                cell.deltaSum += Quantity(step)
                cell.deltaCount += 1
                cell.value = cell.deltaSum
                reference[key] = cell
            default:
                let state = CellState(value: Quantity(Int.random(in: 0...1_000_000, using: &rng)), completeness: 1)
                store.setCell(key, state)
                reference[key] = state
            }
            if step % 500 == 0 {
                #expect(store.allCells() == reference)
            }
        }
        #expect(store.allCells() == reference)
        #expect(store.cellCount == reference.count)
        for key in keys {
            #expect(store.cell(key) == reference[key])
            #expect(store.value(key) == reference[key]?.value)
        }
        var visited = 0
        store.forEachCell { key, state in
            visited += 1
            #expect(reference[key] == state)
        }
        #expect(visited == reference.count)

        store.filterCells { $0.period.year == 2025 && $0.unit != "VN" }
        #expect(store.allCells() == reference.filter { $0.key.period.year == 2025 && $0.key.unit != "VN" })

        // Removing every cell leaves nothing behind.
        for key in keys { store.setCell(key, nil) }
        #expect(store.cellCount == 0)
        #expect(store.allCells().isEmpty)
    }
}
