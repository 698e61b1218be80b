/// Cells and indicator values as the engine computes them: dx-indicators keeps one per province
/// in memory (loaded from PostgreSQL), the full recomputation builds one from scratch.
public struct InMemoryCellStore: Sendable {
    public var cells: [CellKey: CellState] = [:]
    public var indicators: [IndicatorKey: IndicatorValue] = [:]

    public init() {}

    public init(cells: [CellKey: CellState], indicators: [IndicatorKey: IndicatorValue]) {
        self.cells = cells
        self.indicators = indicators
    }

    public func cell(_ key: CellKey) -> CellState? { cells[key] }

    /// A cell's value alone, read where it is stored: a copy of the whole state retains and
    /// releases its report list, and an aggregate reads every child's value.
    public func value(_ key: CellKey) -> Quantity? {
        guard let index = cells.index(forKey: key) else { return nil }
        return cells.values[index].value
    }

    public mutating func setCell(_ key: CellKey, _ state: CellState?) { cells[key] = state }

    public func indicatorValue(_ key: IndicatorKey) -> IndicatorValue? { indicators[key] }

    public mutating func setIndicatorValue(_ key: IndicatorKey, _ value: IndicatorValue?) { indicators[key] = value }
}
