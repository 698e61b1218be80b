/// Cells and indicator values as the engine computes them: dx-indicators keeps one per province
/// in memory (loaded from PostgreSQL), the full recomputation builds one from scratch. Cells are
/// kept a year of one unit and element at a time (`CellYear`).
public struct InMemoryCellStore: Sendable {
    private(set) var years: [CellYearKey: CellYear] = [:]
    public var indicators: [IndicatorKey: IndicatorValue] = [:]
    /// The codes of the data elements the store has held a cell of (it never forgets one): a
    /// writer that gathers a unit's cells element by element asks only for these, not for every
    /// element of the catalog (the bench's rows asked for 110 elements to find 40).
    public private(set) var storedElements: Set<String> = []
    /// The unit-period rows of this store that its table holds, where the store mirrors a table
    /// (a province's state in dx-indicators): a writer inserts a changed row that is not among
    /// them instead of upserting it, and keeps the set as it writes. One lookup per row, where
    /// a set of every cell and indicator value a batch created cost one insert per observation.
    /// The computation never reads it.
    public var storedRows: Set<UnitPeriod> = []

    public init() {}

    public init(cells: [CellKey: CellState], indicators: [IndicatorKey: IndicatorValue]) {
        for (key, state) in cells { setCell(key, state) }
        self.indicators = indicators
    }

    public func cell(_ key: CellKey) -> CellState? {
        guard let index = years.index(forKey: CellYearKey(key)) else { return nil }
        return years.values[index].slots[CellYear.slot(of: key.period)]
    }

    /// A cell's value alone, read where it is stored: a copy of the whole state retains and
    /// releases its report list, and an aggregate reads every child's value.
    public func value(_ key: CellKey) -> Quantity? {
        figure(key)?.value
    }

    /// What an indicator reads of a cell, read where it is stored: the engine computes one or
    /// two for every indicator value, and a copy of the state retained its report list.
    public func figure(_ key: CellKey) -> CellFormula.Figure? {
        guard let index = years.index(forKey: CellYearKey(key)) else { return nil }
        return years.values[index].slots.withUnsafeBufferPointer { slots in
            slots[CellYear.slot(of: key.period)].map { CellFormula.Figure(value: $0.value, completeness: $0.completeness) }
        }
    }

    public mutating func setCell(_ key: CellKey, _ state: CellState?) {
        modifyYear(CellYearKey(key)) { $0.slots[CellYear.slot(of: key.period)] = state }
    }

    /// Changes one cell where it is stored (nil: absent, or to remove it), without copying it.
    public mutating func modifyCell<Result>(_ key: CellKey, _ body: (inout CellState?) -> Result) -> Result {
        let slot = CellYear.slot(of: key.period)
        return modifyYear(CellYearKey(key)) { body(&$0.slots[slot]) }
    }

    /// Changes a year of cells in place: created empty if the store has none of its cells,
    /// dropped if it is left with none.
    mutating func modifyYear<Result>(_ key: CellYearKey, _ body: (inout CellYear) -> Result) -> Result {
        if let index = years.index(forKey: key) {
            let result = body(&years.values[index])
            if years.values[index].isEmpty { years.remove(at: index) }
            return result
        }
        var year = CellYear()
        let result = body(&year)
        if !year.isEmpty {
            years[key] = year
            storedElements.insert(key.element)
        }
        return result
    }

    /// A year of cells, read where it is stored.
    public func withYear<Result>(_ key: CellYearKey, _ body: (CellYear) -> Result) -> Result? {
        guard let index = years.index(forKey: key) else { return nil }
        return body(years.values[index])
    }

    /// Every cell, in no particular order.
    public func forEachCell(_ body: (CellKey, CellState) throws -> Void) rethrows {
        for (key, year) in years {
            for slot in year.slots.indices {
                if let state = year.slots[slot] { try body(key.cell(atSlot: slot), state) }
            }
        }
    }

    /// Every cell as a dictionary, built anew on each call: for audits and tests, which compare
    /// stores cell by cell.
    public func allCells() -> [CellKey: CellState] {
        var all: [CellKey: CellState] = [:]
        all.reserveCapacity(cellCount)
        forEachCell { all[$0] = $1 }
        return all
    }

    /// Counted on each call, not kept: for logs, audits and tests.
    public var cellCount: Int {
        years.values.reduce(0) { count, year in count + year.slots.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }
    }

    /// Keeps only the cells `isIncluded` accepts.
    public mutating func filterCells(_ isIncluded: (CellKey) -> Bool) {
        var kept = InMemoryCellStore()
        forEachCell { key, state in if isIncluded(key) { kept.setCell(key, state) } }
        years = kept.years
    }

    /// Sets an indicator value (nil: removes it) and returns the one it replaced.
    public mutating func replaceIndicatorValue(_ key: IndicatorKey, with value: IndicatorValue?) -> IndicatorValue? {
        if let value { return indicators.updateValue(value, forKey: key) }
        return indicators.removeValue(forKey: key)
    }
}
