/// The administrative tree, indexed for the questions the pipeline asks: a unit's ancestors, its
/// province (the Kafka key), its children for a period, whether one unit lies under another.
public struct UnitDirectory: Sendable {
    public let units: [UnitCode: AdministrativeUnit]
    /// Each parent's children, sorted by code, as units: which children a period expects is asked
    /// for every aggregate the engine recomputes, and needs no lookup of each child this way.
    private let childrenByParent: [UnitCode: [AdministrativeUnit]]
    private let depthByUnit: [UnitCode: Int]
    private let places: [UnitCode: UnitPlace]

    public init(_ list: [AdministrativeUnit]) {
        var units: [UnitCode: AdministrativeUnit] = [:]
        var children: [UnitCode: [AdministrativeUnit]] = [:]
        for unit in list {
            units[unit.code] = unit
            if let parent = unit.parent { children[parent, default: []].append(unit) }
        }
        for key in children.keys { children[key]!.sort { $0.code < $1.code } }
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

        // Parent, grandparent, ..., up to the root: at most 16, whatever a broken tree says.
        var places: [UnitCode: UnitPlace] = [:]
        places.reserveCapacity(units.count)
        for (code, unit) in units {
            var ancestors: [UnitCode] = []
            var current = unit.parent
            while let parent = current, ancestors.count < 16 {
                ancestors.append(parent)
                current = units[parent]?.parent
            }
            places[code] = UnitPlace(unit: unit, province: province[code], ancestors: ancestors)
        }
        self.places = places
    }

    public subscript(code: UnitCode) -> AdministrativeUnit? { units[code] }

    /// The unit with its province and ancestors, in one lookup: what checking a row asks.
    public func place(of code: UnitCode) -> UnitPlace? { places[code] }

    public var count: Int { units.count }

    /// The first of its ancestors: the engine asks for it for every cell whose value changes, and
    /// `units[code]?.parent` copied the whole record (a retain of each of its texts).
    public func parent(of code: UnitCode) -> UnitCode? { places[code]?.ancestors.first }

    /// Distance from the root (the country is 0).
    public func depth(of code: UnitCode) -> Int { depthByUnit[code] ?? 0 }

    /// The current-tree province a unit's figures belong to: the unit itself, or the province
    /// above it (for pre-2025 units, the province their old province merged into). Nil for the
    /// country. Every message is keyed by it.
    public func province(of code: UnitCode) -> UnitCode? { places[code]?.province }

    /// All children, whatever their validity.
    public func children(of code: UnitCode) -> [UnitCode] { childrenByParent[code]?.map(\.code) ?? [] }

    /// Children expected to report for a period: those that existed at its end.
    public func children(of code: UnitCode, validAt period: Period) -> [UnitCode] {
        guard let children = childrenByParent[code] else { return [] }
        let end = period.end
        return children.compactMap { $0.exists(on: end) ? $0.code : nil }
    }

    /// Parent, grandparent, ..., up to the root.
    public func ancestors(of code: UnitCode) -> [UnitCode] { places[code]?.ancestors ?? [] }

    /// True when `code` is `root` or lies under it.
    public func isWithin(_ code: UnitCode, subtreeOf root: UnitCode) -> Bool {
        places[code]?.isWithin(subtreeOf: root) ?? (code == root)
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

/// A unit where it sits in the tree: its province and its ancestors, found once so that checking
/// a row (does the unit exist, may this token report for it, which message carries it) costs
/// one lookup. A class, so handing one out costs a reference, not a copy of every field.
public final class UnitPlace: Sendable {
    public let unit: AdministrativeUnit
    /// The current-tree province its figures belong to (see `UnitDirectory.province(of:)`); nil
    /// for the country.
    public let province: UnitCode?
    /// Parent, grandparent, ..., up to the root.
    public let ancestors: [UnitCode]

    init(unit: AdministrativeUnit, province: UnitCode?, ancestors: [UnitCode]) {
        self.unit = unit
        self.province = province
        self.ancestors = ancestors
    }

    /// True when the unit is `root` or lies under it.
    public func isWithin(subtreeOf root: UnitCode) -> Bool {
        unit.code == root || ancestors.contains(root)
    }
}
