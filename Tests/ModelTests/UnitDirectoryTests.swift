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
}
