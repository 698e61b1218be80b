import DXModel
import Foundation
import Testing

@Suite("Hashing of cell and indicator keys")
struct KeyHashingTests {
    func hash<Key: Hashable>(_ key: Key) -> Int {
        var hasher = Hasher()
        hasher.combine(key)
        return hasher.finalize()
    }

    @Test("keys that are equal hash alike, a precomposed and a decomposed name included")
    func equalKeysHashAlike() {
        let precomposed = "tỉ_lệ_hồ_sơ"  // as typed: one code point per letter
        let decomposed = precomposed.decomposedStringWithCanonicalMapping
        #expect(Array(precomposed.utf8) != Array(decomposed.utf8))
        #expect(precomposed == decomposed)
        let a = CellKey(unit: "01", period: .month(2025, 3), element: precomposed)
        let b = CellKey(unit: "01", period: .month(2025, 3), element: decomposed)
        #expect(a == b)
        #expect(hash(a) == hash(b))
        // The Kelvin sign is canonically the letter K: an ASCII code and its look-alike meet.
        let kelvin = CellKey(unit: "01", period: .year(2025), element: "\u{212A}pi")
        let ascii = CellKey(unit: "01", period: .year(2025), element: "Kpi")
        #expect(kelvin == ascii)
        #expect(hash(kelvin) == hash(ascii))
        #expect(hash(IndicatorKey(unit: "01", period: .quarter(2025, 2), indicator: precomposed))
                == hash(IndicatorKey(unit: "01", period: .quarter(2025, 2), indicator: decomposed)))
        // What a Dictionary or a Set asks, with any seed.
        for seed in [0, 42, -7] {
            #expect(a._rawHashValue(seed: seed) == b._rawHashValue(seed: seed))
            #expect(kelvin._rawHashValue(seed: seed) == ascii._rawHashValue(seed: seed))
        }
        let composedUnit = UnitCode("old-\(precomposed)"), decomposedUnit = UnitCode("old-\(decomposed)")
        #expect(composedUnit == decomposedUnit)
        #expect(hash(composedUnit) == hash(decomposedUnit))
        #expect(composedUnit._rawHashValue(seed: 9) == decomposedUnit._rawHashValue(seed: 9))
        // A dictionary finds a key by its equal.
        let cells: [CellKey: Int] = [a: 1, kelvin: 2]
        #expect(cells[b] == 1)
        #expect(cells[ascii] == 2)
        let units: [UnitCode: Int] = [composedUnit: 3]
        #expect(units[decomposedUnit] == 3)
    }

    @Test("the keys of a province's cells hash apart: units, periods and codes each count")
    func distinctKeysHashApart() {
        var keys: [CellKey] = []
        let periods = (1...12).map { Period.month(2025, $0) } + (1...4).map { Period.quarter(2025, $0) } + [.year(2025), .year(2024)]
        for unit in 0..<120 {
            for element in 0..<40 {
                for period in periods {
                    keys.append(CellKey(unit: UnitCode(String(format: "%05d", 10_000 + unit)), period: period, element: String(format: "bench_e%02d", element)))
                }
            }
        }
        // Moving a character between the unit and the code makes another key.
        keys.append(CellKey(unit: "1", period: .year(2025), element: "23"))
        keys.append(CellKey(unit: "12", period: .year(2025), element: "3"))
        let hashes = Set(keys.map(hash))
        #expect(Set(keys).count == keys.count)
        #expect(hashes.count == keys.count)
        let units = (0..<100).map { UnitCode(String(format: "%02d", $0)) } + (0..<4_000).map { UnitCode(String(format: "%05d", $0)) }
            + (0..<100).map { UnitCode(String(format: "old-%02d", $0)) } + [.country]
        #expect(Set(units.map(hash)).count == units.count)
        #expect(Set(units.map { $0._rawHashValue(seed: 3) }).count == units.count)
        for seed in [0, 12_345] {
            let raw = keys.map { $0._rawHashValue(seed: seed) }
            #expect(Set(raw).count == keys.count)
            // A dictionary picks a bucket by the low bits: in a table of 2¹⁷ buckets these keys
            // spread as random ones do (about 73% of them in a bucket of their own), not in runs.
            let buckets = Set(raw.map { $0 & (1 << 17 - 1) })
            #expect(Double(buckets.count) > 0.7 * Double(keys.count))
        }
    }
}
