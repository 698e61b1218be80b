import Foundation

/// Computes every cell and indicator value from scratch, from the reports and event counts
/// alone. It pulls values top-down with memoisation where the incremental engine pushes changes
/// bottom-up; they share only `CellFormula`. `dx recompute` runs it, and tests compare the two
/// cell by cell.
public struct FullComputation: Sendable {
    public let catalog: Catalog

    public init(catalog: Catalog) {
        self.catalog = catalog
    }

    /// Own inputs of one cell: each report's value (highest revision kept) and the events' sum.
    public struct Inputs: Sendable {
        public var reports: [CellKey: [ReportedValue]] = [:]
        public var deltas: [CellKey: (sum: Quantity, count: Int)] = [:]

        public init() {}

        /// Adds what a report revision says of a cell (nil: withdrawn), keeping each report's
        /// highest revision.
        public mutating func add(_ key: CellKey, _ value: ReportedValue) {
            var list = reports[key] ?? []
            _ = list.merge(value)
            reports[key] = list
        }

        public mutating func addDelta(_ key: CellKey, _ amount: Quantity, count: Int = 1) {
            let current = deltas[key] ?? (0, 0)
            deltas[key] = (current.sum + amount, current.count + count)
        }

        var keys: Set<CellKey> { Set(reports.keys).union(deltas.keys) }
    }

    public func compute(_ inputs: Inputs) -> InMemoryCellStore {
        // Cells that can have a value: every input cell and the same cell of each ancestor.
        var candidates = Set<CellKey>()
        for key in inputs.keys {
            candidates.insert(key)
            for ancestor in catalog.units.ancestors(of: key.unit) {
                candidates.insert(CellKey(unit: ancestor, period: key.period, element: key.element))
            }
        }

        var memo: [CellKey: CellState?] = [:]
        func native(_ key: CellKey) -> CellState? {
            if let known = memo[key] { return known }
            guard candidates.contains(key), let element = catalog.elements[key.element] else { return nil }
            var state = CellState()
            state.reports = inputs.reports[key] ?? []
            if let delta = inputs.deltas[key] {
                state.deltaSum = delta.sum
                state.deltaCount = delta.count
            }
            let children = catalog.units.children(of: key.unit, validAt: key.period)
            let contributions = children.map { child in
                CellFormula.Child(
                    value: native(CellKey(unit: child, period: key.period, element: key.element))?.value,
                    weight: element.weight.flatMap { native(CellKey(unit: child, period: key.period, element: $0))?.value }
                )
            }
            let computed = CellFormula.native(element: element, state: state, children: contributions, expected: children.count)
            let result: CellState? = computed.value == nil && !computed.hasOwnInputs ? nil : computed
            memo[key] = result
            return result
        }

        var store = InMemoryCellStore()
        for key in candidates {
            if let state = native(key) { store.setCell(key, state) }
        }

        var derivedKeys = Set<CellKey>()
        store.forEachCell { key, _ in
            for period in key.period.enclosing { derivedKeys.insert(CellKey(unit: key.unit, period: period, element: key.element)) }
        }
        for key in derivedKeys {
            guard let element = catalog.elements[key.element] else { continue }
            let subperiods = key.period.subperiods(element.periodType).map { store.cell(CellKey(unit: key.unit, period: $0, element: key.element)) }
            if let state = CellFormula.derived(element: element, subperiods: subperiods) { store.setCell(key, state) }
        }

        var unitPeriods: [UnitCode: Set<Period>] = [:]
        store.forEachCell { key, _ in unitPeriods[key.unit, default: []].insert(key.period) }
        for (unit, periods) in unitPeriods {
            for period in periods {
                for indicator in catalog.indicators.values {
                    let value = CellFormula.indicator(indicator, target: catalog.target(for: indicator.code, period: period)?.bar) { element in
                        store.figure(CellKey(unit: unit, period: period, element: element))
                    }
                    if let value {
                        store.indicators[IndicatorKey(unit: unit, period: period, indicator: indicator.code)] = value
                    }
                }
            }
        }
        return store
    }
}
