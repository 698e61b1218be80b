/// A unit's cells of one data element within one year: its 12 months, 4 quarters and the year.
/// A month's report changes its quarter and its year too, and those are computed from the
/// year's months, so the store keeps them together: one lookup finds all 17 where a lookup per
/// period made the quarter and the year cost 19 lookups per observation in the national load.
public struct CellYear: Sendable, Hashable {
    /// Months 1–12 at 0–11, quarters 1–4 at 12–15, the year at 16.
    public internal(set) var slots: [CellState?]

    public static let slotCount = 17

    init() { slots = Array(repeating: nil, count: Self.slotCount) }

    /// Where a period's cell is kept in its year.
    @inline(__always)
    public static func slot(of period: Period) -> Int {
        switch period.type {
        case .month: period.index - 1
        case .quarter: 11 + period.index
        case .year: 16
        }
    }

    /// The period whose cell is kept at `slot` of `year`.
    static func period(ofSlot slot: Int, year: Int) -> Period {
        switch slot {
        case 0..<12: .month(year, slot + 1)
        case 12..<16: .quarter(year, slot - 11)
        default: .year(year)
        }
    }

    /// The slots of the quarter and the year around `period`, a bit per slot: what a change of
    /// its cell makes stale.
    static func enclosingSlots(of period: Period) -> UInt32 {
        switch period.type {
        case .month: 1 << slot(of: period.containing(.quarter)) | 1 << slot(of: .year(period.year))
        case .quarter: 1 << slot(of: .year(period.year))
        case .year: 0
        }
    }

    /// The slots of the periods of type `finer` that make up `period`, in order.
    static func subslots(of period: Period, _ finer: PeriodType) -> Range<Int> {
        let first = slot(of: Period(type: finer, year: period.year, index: (period.firstMonth - 1) / finer.months + 1))
        return first..<(first + period.type.months / finer.months)
    }

    /// Asked on every change of a cell: each slot is matched where it is stored, since comparing
    /// a copy with nil retained and released its report list (1.4% of dx-indicators' CPU).
    var isEmpty: Bool {
        slots.withUnsafeBufferPointer { cells in
            for index in cells.indices {
                if case .some = cells[index] { return false }
            }
            return true
        }
    }
}

/// The key of a `CellYear`: a unit, a year and a data element.
public struct CellYearKey: Hashable, Sendable {
    /// As `CellKey.hashWord`, over the year as a period: so it follows from a cell key's word
    /// without hashing the codes again (`init(_:)`).
    let hashWord: UInt64
    public let unit: UnitCode
    public let year: Int
    public let element: String

    public init(unit: UnitCode, year: Int, element: String) {
        self.unit = unit
        self.year = year
        self.element = element
        hashWord = KeyHashing.word(unit: unit, period: .year(year), code: element)
    }

    /// The year a cell is kept in.
    @inline(__always)
    public init(_ cell: CellKey) {
        unit = cell.unit
        year = cell.period.year
        element = cell.element
        hashWord = KeyHashing.reperiod(cell.hashWord, from: cell.period, to: .year(cell.period.year))
    }

    /// The key of the cell kept at `slot`.
    public func cell(atSlot slot: Int) -> CellKey {
        CellKey(unit: unit, period: CellYear.period(ofSlot: slot, year: year), element: element, wordOfYear: hashWord)
    }
}

extension CellYearKey: WordHashed {}
