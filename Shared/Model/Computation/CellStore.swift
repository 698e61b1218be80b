/// Where the engine reads and writes cells and indicator values while it computes. The service
/// keeps one per partition in memory, backed by PostgreSQL; tests use the in-memory one.
public protocol CellStore {
    func cell(_ key: CellKey) -> CellState?
    mutating func setCell(_ key: CellKey, _ state: CellState?)
    func indicatorValue(_ key: IndicatorKey) -> IndicatorValue?
    mutating func setIndicatorValue(_ key: IndicatorKey, _ value: IndicatorValue?)
}

public struct InMemoryCellStore: CellStore, Sendable {
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
