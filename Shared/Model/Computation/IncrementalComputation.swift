import Foundation

/// Applies observations to a store and recomputes only what they affect: each touched cell,
/// then its ancestors level by level (each once per batch, however many observations touched
/// it), the coarser periods of every changed cell, and the indicators that read them.
public struct IncrementalComputation: Sendable {
    public let catalog: Catalog
    /// Units whose cells this computation leaves alone (the country, shared by every partition):
    /// their dirty native cells come back in `Changes.deferred` for a separate pass.
    public let deferredUnits: Set<UnitCode>

    public init(catalog: Catalog, deferredUnits: Set<UnitCode> = []) {
        self.catalog = catalog
        self.deferredUnits = deferredUnits
    }

    public struct IndicatorChange: Sendable, Equatable {
        public var previous: IndicatorValue?
        public var current: IndicatorValue?

        public init(previous: IndicatorValue?, current: IndicatorValue?) {
            self.previous = previous
            self.current = current
        }
    }

    /// What a batch changed.
    public struct Changes: Sendable {
        /// Cells written, each with whether it still exists (false: removed). Their states are
        /// read from the store: kept here, a copy of every changed cell's state (its report list
        /// retained) was made and moved with each insert and each growth of the table.
        public var cells: [CellKey: Bool] = [:]
        public var indicators: [IndicatorKey: IndicatorChange] = [:]
        /// Native cells of deferred units whose children changed.
        public var deferred: Set<CellKey> = []
        /// Inputs that changed nothing (stale revisions, repeated values).
        public var ignoredInputs = 0
        /// How many cell recomputations ran, for metrics and for tests that check each
        /// ancestor is computed once per batch.
        public var recomputations = 0

        public init() {}

        public mutating func merge(_ other: Changes) {
            if cells.isEmpty && indicators.isEmpty && deferred.isEmpty {
                let (ignored, recomputed) = (ignoredInputs, recomputations)
                self = other
                ignoredInputs += ignored
                recomputations += recomputed
                return
            }
            for (key, state) in other.cells { cells[key] = state }
            for (key, change) in other.indicators {
                if let existing = indicators[key] {
                    indicators[key] = IndicatorChange(previous: existing.previous, current: change.current)
                } else {
                    indicators[key] = change
                }
            }
            deferred.formUnion(other.deferred)
            ignoredInputs += other.ignoredInputs
            recomputations += other.recomputations
        }
    }

    /// Applies `inputs` in order and propagates their effects.
    public func apply(_ inputs: [ObservationInput], to store: inout InMemoryCellStore) -> Changes {
        var changes = Changes()
        apply(inputs, to: &store, adding: &changes)
        return changes
    }

    /// Applies `inputs` and adds what they change to `changes`, which must not yet hold any of
    /// the store's keys (the engine collects disjoint provinces into one set of changes this way,
    /// without copying each province's).
    public func apply(_ inputs: [ObservationInput], to store: inout InMemoryCellStore, adding changes: inout Changes) {
        // Room for a month's observation, its quarter and its year, and about as many indicator
        // values: grown one doubling at a time, the tables were copied and their new pages
        // faulted in several times per batch.
        changes.cells.reserveCapacity(changes.cells.count + 3 * inputs.count)
        changes.indicators.reserveCapacity(changes.indicators.count + 2 * inputs.count)
        var dirty: [Int: Set<CellKey>] = [:]
        for input in inputs {
            let key = input.key
            // In place: a copy of the state would copy its report list on every change.
            let changed = store.modifyCell(key) { state -> Bool in
                if state != nil { return state!.apply(input) }
                var new = CellState()
                guard new.apply(input) else { return false }
                state = new
                return true
            }
            if changed {
                let depth = catalog.units.depth(of: key.unit)
                // Sized for the batch at once: grown one doubling at a time, it was rehashed
                // several times per batch.
                if dirty[depth] == nil { dirty[depth] = Set(minimumCapacity: inputs.count) }
                dirty[depth]!.insert(key)
            } else {
                changes.ignoredInputs += 1
            }
        }
        propagate(dirty: dirty, fromInputs: true, store: &store, changes: &changes)
    }

    /// Recomputes the given native cells (and everything above and derived from them) from what
    /// the store holds now. Used for the deferred pass and for repairs.
    public func recompute(nativeCells keys: Set<CellKey>, in store: inout InMemoryCellStore) -> Changes {
        var changes = Changes()
        var dirty: [Int: Set<CellKey>] = [:]
        for key in keys { dirty[catalog.units.depth(of: key.unit), default: []].insert(key) }
        propagate(dirty: dirty, fromInputs: false, store: &store, changes: &changes)
        return changes
    }

    /// `fromInputs`: the initial dirty cells are those whose reports or events the inputs changed
    /// (already in the store). They are among the changes even when their value stays: what a
    /// report or an event left behind is what a later withdrawal falls back to, after the state
    /// is loaded again.
    private func propagate(dirty initial: [Int: Set<CellKey>], fromInputs: Bool, store: inout InMemoryCellStore,
                           changes: inout Changes) {
        var dirty = initial
        func ownInputsChanged(_ key: CellKey, at depth: Int) -> Bool {
            fromInputs && initial[depth]?.contains(key) == true
        }
        // The quarters and years to recompute, a bit per slot of their `CellYear`.
        var derivedDirty: [CellYearKey: UInt32] = [:]
        var indicatorDirty = Set<IndicatorKey>()

        // Deepest level first, so a parent is computed after all its children.
        while let depth = dirty.keys.max() {
            let keys = dirty.removeValue(forKey: depth)!
            // Cells of one depth depend only on deeper ones: any order gives the same result.
            for key in keys {
                if deferredUnits.contains(key.unit) {
                    changes.deferred.insert(key)
                    // Its own inputs are in the store now; the deferred pass records it again if
                    // its value changes.
                    if ownInputsChanged(key, at: depth) { changes.cells[key] = store.cell(key) != nil }
                    continue
                }
                guard let use = catalog.use(of: key.element) else { continue }
                let old = store.cell(key)
                let new = computeNative(key, element: use.element, state: old, store: store)
                changes.recomputations += 1
                if old != new || ownInputsChanged(key, at: depth) {
                    store.setCell(key, new)
                    changes.cells[key] = new != nil
                }
                let valueChanged = old?.value != new?.value
                let completenessChanged = old?.completeness != new?.completeness
                guard valueChanged || completenessChanged else { continue }
                if valueChanged, let parent = catalog.units.parent(of: key.unit) {
                    let parentDepth = depth - 1
                    dirty[parentDepth, default: []].insert(CellKey(unit: parent, period: key.period, element: key.element))
                    for rate in use.weightedRates {
                        dirty[parentDepth, default: []].insert(CellKey(unit: parent, period: key.period, element: rate))
                    }
                }
                let enclosing = CellYear.enclosingSlots(of: key.period)
                if enclosing != 0 { derivedDirty[CellYearKey(key), default: 0] |= enclosing }
                Self.markIndicators(use.indicators, unit: key.unit, period: key.period, into: &indicatorDirty)
            }
        }

        // Quarters and years depend only on native cells, indicators only on cells: no order
        // needed. A year of cells is found once for all its periods.
        for (yearKey, periods) in derivedDirty {
            // Looked up once for the quarter and the year.
            guard let use = catalog.use(of: yearKey.element) else { continue }
            let (element, usedBy) = (use.element, use.indicators)
            store.modifyYear(yearKey) { cells in
                for slot in 0..<CellYear.slotCount where periods & (1 << slot) != 0 {
                    let period = CellYear.period(ofSlot: slot, year: yearKey.year)
                    let subslots = CellYear.subslots(of: period, element.periodType)
                    let new = cells.slots.withUnsafeBufferPointer {
                        CellFormula.derived(element: element, subperiods: UnsafeBufferPointer(rebasing: $0[subslots]))
                    }
                    changes.recomputations += 1
                    let old = cells.slots[slot]
                    guard old != new else { continue }
                    let key = yearKey.cell(atSlot: slot)
                    cells.slots[slot] = new
                    changes.cells[key] = new != nil
                    Self.markIndicators(usedBy, unit: key.unit, period: period, into: &indicatorDirty)
                }
            }
        }

        for key in indicatorDirty {
            guard let use = catalog.use(ofIndicator: key.indicator) else { continue }
            let new = CellFormula.indicator(use.indicator, target: use.bar(for: key.period)) { element in
                store.figure(CellKey(unit: key.unit, period: key.period, element: element))
            }
            // One lookup in each table: these were four per value (a read and a write of the
            // store, a read and a write of the change).
            let old = store.replaceIndicatorValue(key, with: new)
            if old != new {
                changes.indicators[key, default: IndicatorChange(previous: old, current: new)].current = new
            }
        }
    }

    /// Static: the year's closure that calls it then captures no copy of the computation (its
    /// catalog with every table retained).
    private static func markIndicators(_ indicators: [Indicator], unit: UnitCode, period: Period, into set: inout Set<IndicatorKey>) {
        for indicator in indicators {
            set.insert(IndicatorKey(unit: unit, period: period, indicator: indicator.code))
        }
    }

    /// A native cell from its own inputs (`state`, as stored) and its children's current values.
    func computeNative(_ key: CellKey, element: DataElement, state stored: CellState?, store: InMemoryCellStore) -> CellState? {
        let state = stored ?? CellState()
        let children = catalog.units.children(of: key.unit, validAt: key.period)
        let contributions = children.map { child -> CellFormula.Child in
            let value = store.value(CellKey(unit: child, period: key.period, element: key.element))
            let weight = element.weight.flatMap { store.value(CellKey(unit: child, period: key.period, element: $0)) }
            return CellFormula.Child(value: value, weight: weight)
        }
        let result = CellFormula.native(element: element, state: state, children: contributions, expected: children.count)
        return result.value == nil && !result.hasOwnInputs ? nil : result
    }
}
