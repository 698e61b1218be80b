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

    public mutating func setCell(_ key: CellKey, _ state: CellState?) { cells[key] = state }

    public func indicatorValue(_ key: IndicatorKey) -> IndicatorValue? { indicators[key] }

    public mutating func setIndicatorValue(_ key: IndicatorKey, _ value: IndicatorValue?) { indicators[key] = value }
}
