import DXModel

extension UnitDirectory {
    /// The communes of the current tree (in force from 1 July 2025) in `province`, sorted.
    func currentCommunes(of province: UnitCode) -> [UnitCode] {
        units.values.filter { $0.tree == .current && $0.level == .commune && self.province(of: $0.code) == province }.map(\.code).sorted()
    }
}
