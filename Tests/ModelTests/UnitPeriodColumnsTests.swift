import DXModel
import Foundation
import Testing

/// A unit-period row's `cells` and `indicators` columns: what dx-indicators writes it reads back
/// exactly, and a general JSON parser reads the same shape the views take apart.
@Suite("Unit-period columns: written and read back")
struct UnitPeriodColumnsTests {
    static func quantity(_ rng: inout SeededGenerator) -> Quantity {
        Quantity.parse("\(Bool.random(using: &rng) ? "-" : "")\(Int.random(in: 0...9_999_999, using: &rng)).\(Int.random(in: 0...999_999, using: &rng))")!
    }

    static func maybe(_ rng: inout SeededGenerator) -> Quantity? {
        Bool.random(using: &rng) ? nil : quantity(&rng)
    }

    @Test("cells: 300 random rows round trip, codes with quotes and Vietnamese letters included")
    func cells() throws {
        var rng = SeededGenerator(seed: 8)
        let codes = ["DVC.RECEIVED", "Tỷ lệ \"hộ\"", "back\\slash", "a,b", "E01"]
        for _ in 0..<300 {
            let cells: [(element: String, state: CellState)] = codes.shuffled(using: &rng).prefix(Int.random(in: 0...codes.count, using: &rng)).map { code in
                let reports = Bool.random(using: &rng) ? [] : ReportsColumnTests.randomReports(&rng).sorted { $0.reportID < $1.reportID }
                return (code, CellState(reports: reports, deltaSum: Self.quantity(&rng), deltaCount: Int.random(in: 0...1000, using: &rng),
                                        value: Self.maybe(&rng), completeness: Self.quantity(&rng),
                                        childrenReported: Int.random(in: 0...200, using: &rng), childrenExpected: Int.random(in: 0...200, using: &rng)))
            }
            var column = UnitPeriodColumns.ColumnWriter(capacity: 4096)
            for (element, state) in cells { column.append(element, cell: state) }
            let bytes = column.finished()
            let text = String(decoding: bytes, as: UTF8.self)
            let back = try bytes.withUnsafeBufferPointer { try UnitPeriodColumns.parseCells(utf8: $0) }
            #expect(back.map(\.element) == cells.map(\.element), "\(text)")
            #expect(back.map(\.state) == cells.map(\.state), "\(text)")
            let general = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [Any]])
            #expect(Set(general.keys) == Set(cells.map(\.element)))
            #expect(general.values.allSatisfy { $0.count == 7 })
        }
    }

    @Test("indicator values: 300 random rows round trip")
    func indicators() throws {
        var rng = SeededGenerator(seed: 411)
        for _ in 0..<300 {
            let values: [(indicator: String, value: IndicatorValue)] = (0..<Int.random(in: 0...20, using: &rng)).map { index in
                ("CĐS.\(index)", IndicatorValue(value: Self.quantity(&rng), numerator: Self.maybe(&rng), denominator: Self.maybe(&rng),
                                                completeness: Self.quantity(&rng), target: Self.maybe(&rng),
                                                targetYear: Bool.random(using: &rng) ? nil : Int.random(in: 2025...2030, using: &rng),
                                                gap: Self.maybe(&rng), meetsTarget: [nil, true, false].randomElement(using: &rng)!))
            }
            var column = UnitPeriodColumns.ColumnWriter(capacity: 2048)
            for (indicator, value) in values { column.append(indicator, value: value) }
            let bytes = column.finished()
            let text = String(decoding: bytes, as: UTF8.self)
            let back = try bytes.withUnsafeBufferPointer { try UnitPeriodColumns.parseIndicators(utf8: $0) }
            #expect(back.map(\.indicator) == values.map(\.indicator), "\(text)")
            #expect(back.map(\.value) == values.map(\.value), "\(text)")
        }
    }

    @Test("a malformed column is refused with its reason")
    func malformed() {
        let cases: [(String, String)] = [
            (#"{"E":["1","1",0,0,"0",0]}"#, "E has no reports"),
            (#"{"E":["1","1",0,0,"0",0,null,5]}"#, "more than seven fields"),
            (#"{"E":["x","1",0,0,"0",0,null]}"#, "'x' is not a number"),
            (#"{"I":["1",null,null,"1",null,null,null]}"#, "I has no meets target"),
        ]
        for (text, reason) in cases.prefix(3) {
            var copy = text
            #expect { try copy.withUTF8 { try UnitPeriodColumns.parseCells(utf8: $0) } } throws: { "\($0)".contains(reason) }
        }
        var copy = cases[3].0
        #expect { try copy.withUTF8 { try UnitPeriodColumns.parseIndicators(utf8: $0) } } throws: { "\($0)".contains(cases[3].1) }
    }
}
