import Foundation

/// One figure of one unit for one period and data element: the grain everything is computed at.
public struct CellKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// `KeyHashing.word` of the three codes, computed once: the engine looks a key up many times,
    /// and hashing its text on every lookup was 8% of dx-indicators' CPU in the national load.
    /// First, so `==` tells most unequal keys apart by it before comparing text (equal keys have
    /// equal words).
    let hashWord: UInt64
    public let unit: UnitCode
    public let period: Period
    public let element: String

    public init(unit: UnitCode, period: Period, element: String) {
        self.unit = unit
        self.period = period
        self.element = element
        hashWord = KeyHashing.word(unit: unit, period: period, code: element)
    }

    /// A cell of a `CellYear`, its word taken from the year's.
    init(unit: UnitCode, period: Period, element: String, wordOfYear: UInt64) {
        self.unit = unit
        self.period = period
        self.element = element
        hashWord = KeyHashing.reperiod(wordOfYear, from: .year(period.year), to: period)
    }

    public var description: String { "\(unit)/\(period)/\(element)" }

    public static func < (a: CellKey, b: CellKey) -> Bool {
        (a.unit, a.element, a.period) < (b.unit, b.element, b.period)
    }
}

/// One indicator of one unit for one period.
public struct IndicatorKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// As `CellKey.hashWord`.
    let hashWord: UInt64
    public let unit: UnitCode
    public let period: Period
    public let indicator: String

    public init(unit: UnitCode, period: Period, indicator: String) {
        self.unit = unit
        self.period = period
        self.indicator = indicator
        hashWord = KeyHashing.word(unit: unit, period: period, code: indicator)
    }

    public var description: String { "\(unit)/\(period)/\(indicator)" }

    public static func < (a: IndicatorKey, b: IndicatorKey) -> Bool {
        (a.unit, a.indicator, a.period) < (b.unit, b.indicator, b.period)
    }
}

/// What one report says about a cell. Each report keeps only its highest revision, and a
/// revision that no longer gives the cell leaves a tombstone (nil value), so revisions of a report
/// can arrive in any order and still end in the same state. Among reports, the one accepted last
/// (highest sequence) that has a value is the cell's own value.
public struct ReportedValue: Hashable, Sendable, Codable {
    public var reportID: String
    public var revision: Int
    /// Acceptance order of the report revision in dx-ingest.
    public var sequence: Int64
    /// Nil when this revision withdrew the cell.
    public var value: Quantity?

    public init(reportID: String, revision: Int, sequence: Int64, value: Quantity?) {
        self.reportID = reportID
        self.revision = revision
        self.sequence = sequence
        self.value = value
    }
}

/// Everything known about a cell. A cell exists while it has a value.
public struct CellState: Hashable, Sendable {
    /// What each report says about this cell, one entry per report (native periods only).
    public var reports: [ReportedValue] = []
    /// Sum and number of `delta` observations derived from events.
    public var deltaSum: Quantity = 0
    public var deltaCount: Int = 0
    /// The cell's value: its own (reported or from events), else the aggregate of its children
    /// (native periods) or of its sub-periods (derived periods).
    public var value: Quantity?
    /// Share (0–1) of what was expected that is in the value.
    public var completeness: Quantity = 0
    /// Children with a value (native periods).
    public var childrenReported: Int = 0
    /// Children expected for the period (native periods).
    public var childrenExpected: Int = 0

    public init() {}

    public init(reports: [ReportedValue] = [], deltaSum: Quantity = 0, deltaCount: Int = 0, value: Quantity?, completeness: Quantity,
                childrenReported: Int = 0, childrenExpected: Int = 0) {
        self.reports = reports
        self.deltaSum = deltaSum
        self.deltaCount = deltaCount
        self.value = value
        self.completeness = completeness
        self.childrenReported = childrenReported
        self.childrenExpected = childrenExpected
    }

    /// The report value in force: the one accepted last among those with a value.
    public var winningReport: ReportedValue? {
        // One pass, no filtered copy: asked for every cell the engine computes.
        var winner: Int?
        for index in reports.indices where reports[index].value != nil {
            if let best = winner, (reports[index].sequence, reports[index].reportID) <= (reports[best].sequence, reports[best].reportID) { continue }
            winner = index
        }
        return winner.map { reports[$0] }
    }

    /// What the unit itself said, authoritative over its children.
    public var own: Quantity? {
        if let report = winningReport { return report.value }
        return deltaCount > 0 ? deltaSum : nil
    }

    var hasOwnInputs: Bool { !reports.isEmpty || deltaCount > 0 }
}

/// An indicator's value with what it was computed from and how it stands against its target.
public struct IndicatorValue: Hashable, Sendable, Codable {
    public var value: Quantity
    public var numerator: Quantity?
    public var denominator: Quantity?
    public var completeness: Quantity
    public var target: Quantity?
    public var targetYear: Int?
    /// How far the value falls short of the target in the indicator's unit: positive means
    /// behind, zero or negative means met.
    public var gap: Quantity?
    public var meetsTarget: Bool?

    public init(value: Quantity, numerator: Quantity? = nil, denominator: Quantity? = nil, completeness: Quantity, target: Quantity? = nil,
                targetYear: Int? = nil, gap: Quantity? = nil, meetsTarget: Bool? = nil) {
        self.value = value
        self.numerator = numerator
        self.denominator = denominator
        self.completeness = completeness
        self.target = target
        self.targetYear = targetYear
        self.gap = gap
        self.meetsTarget = meetsTarget
    }
}
