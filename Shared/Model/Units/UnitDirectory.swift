/// The administrative tree, indexed for the questions the pipeline asks: a unit's ancestors, its
/// province (the Kafka key), its children for a period, whether one unit lies under another.
public struct UnitDirectory: Sendable {
    public let units: [UnitCode: AdministrativeUnit]
    private let childrenByParent: [UnitCode: [UnitCode]]
    private let depthByUnit: [UnitCode: Int]
    private let provinceByUnit: [UnitCode: UnitCode]

    public init(_ list: [AdministrativeUnit]) {
        var units: [UnitCode: AdministrativeUnit] = [:]
        var children: [UnitCode: [UnitCode]] = [:]
        for unit in list {
            units[unit.code] = unit
            if let parent = unit.parent { children[parent, default: []].append(unit.code) }
        }
        for key in children.keys { children[key]!.sort() }
        self.units = units
        self.childrenByParent = children

        var depth: [UnitCode: Int] = [:]
        var province: [UnitCode: UnitCode] = [:]
        func resolve(_ code: UnitCode, _ seen: Int) -> (Int, UnitCode?) {
            if let d = depth[code] { return (d, province[code]) }
            guard seen < 16, let unit = units[code] else { return (0, nil) }
            guard let parent = unit.parent, units[parent] != nil else {
                depth[code] = 0
                return (0, nil)
            }
            let (parentDepth, parentProvince) = resolve(parent, seen + 1)
            let own = unit.level == .province && unit.tree == .current ? code : parentProvince
            depth[code] = parentDepth + 1
            if let own { province[code] = own }
            return (parentDepth + 1, own)
        }
        for code in units.keys { _ = resolve(code, 0) }
        self.depthByUnit = depth
        self.provinceByUnit = province
    }

    public subscript(code: UnitCode) -> AdministrativeUnit? { units[code] }

    public var count: Int { units.count }

    /// Distance from the root (the country is 0).
    public func depth(of code: UnitCode) -> Int { depthByUnit[code] ?? 0 }

    /// The current-tree province a unit's figures belong to: the unit itself, or the province
    /// above it (for pre-2025 units, the province their old province merged into). Nil for the
    /// country. Every message is keyed by it.
    public func province(of code: UnitCode) -> UnitCode? { provinceByUnit[code] }

    /// All children, whatever their validity.
    public func children(of code: UnitCode) -> [UnitCode] { childrenByParent[code] ?? [] }

    /// Children expected to report for a period: those that existed at its end.
    public func children(of code: UnitCode, validAt period: Period) -> [UnitCode] {
        children(of: code).filter { units[$0]?.isValid(at: period) ?? false }
    }

    /// Parent, grandparent, ..., up to the root.
    public func ancestors(of code: UnitCode) -> [UnitCode] {
        var result: [UnitCode] = []
        var current = units[code]?.parent
        while let code = current, result.count < 16 {
            result.append(code)
            current = units[code]?.parent
        }
        return result
    }

    /// True when `code` is `root` or lies under it.
    /// Walks up the parents without building the ancestor list: every row of a request asks.
    public func isWithin(_ code: UnitCode, subtreeOf root: UnitCode) -> Bool {
        var current: UnitCode? = code
        var steps = 0
        while let unit = current, steps <= 16 {
            if unit == root { return true }
            current = units[unit]?.parent
            steps += 1
        }
        return false
    }

    /// Names from the root down to the unit, e.g. ["Việt Nam", "Tỉnh Quảng Trị", "Huyện Đa Krông"].
    public func path(of code: UnitCode) -> [String] {
        (ancestors(of: code).reversed() + [code]).compactMap { units[$0]?.name }
    }

    /// Every unit in the subtree of `root`, root included.
    public func subtree(of root: UnitCode) -> [UnitCode] {
        var result: [UnitCode] = [root]
        var index = 0
        while index < result.count {
            result.append(contentsOf: children(of: result[index]))
            index += 1
        }
        return result
    }
}
