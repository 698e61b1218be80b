import DXModel
import Testing

@Suite("The administrative tree")
struct UnitDirectoryTests {
    let units = TestCatalog.catalog.units

    @Test("a unit's place says what the tree says: its province, its ancestors, what it lies under")
    func places() throws {
        for unit in TestCatalog.units {
            let place = try #require(units.place(of: unit.code))
            #expect(place.unit == unit)
            #expect(place.province == units.province(of: unit.code))
            #expect(place.ancestors == units.ancestors(of: unit.code))
            for root in TestCatalog.units.map(\.code) {
                #expect(place.isWithin(subtreeOf: root) == units.isWithin(unit.code, subtreeOf: root))
                #expect(units.isWithin(unit.code, subtreeOf: root) == units.subtree(of: root).contains(unit.code), "\(unit.code) under \(root)")
            }
        }
        #expect(units.ancestors(of: "old-10101") == ["old-101", "old-01", "01", "VN"])
        #expect(units.province(of: "old-10101") == "01")
        #expect(units.place(of: "99") == nil)
        #expect(units.isWithin("99", subtreeOf: "99"))
        #expect(!units.isWithin("99", subtreeOf: "VN"))
    }

    @Test("the children a period expects are those that existed on its last day, as each unit's validity says")
    func childrenValidAtPeriod() {
        let periods: [Period] = [.year(2024), .year(2025), .month(2025, 6), .month(2025, 7), .quarter(2025, 2), .quarter(2025, 3), .year(2026)]
        for parent in TestCatalog.units.map(\.code) {
            for period in periods {
                let expected = units.children(of: parent).filter { units[$0]!.isValid(at: period) }
                #expect(units.children(of: parent, validAt: period) == expected, "\(parent) at \(period)")
            }
        }
        // Under a province of the current tree: its old provinces until 30 June 2025, its communes from 1 July.
        #expect(units.children(of: "01", validAt: .month(2025, 6)) == ["old-01", "old-03"])
        #expect(units.children(of: "01", validAt: .month(2025, 7)) == ["01001", "01002", "01003"])
    }
}
