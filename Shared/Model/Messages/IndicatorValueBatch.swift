import Foundation

/// `dx.indicator-values.v1`: indicator values of one province that one engine transaction
/// changed, each with its previous value.
public struct IndicatorValueBatch: Codable, Sendable, Hashable {
    public static let schema = "dx.indicator-values.v1"

    public var province: UnitCode
    public var values: [IndicatorValueChange]

    public init(province: UnitCode, values: [IndicatorValueChange]) {
        self.province = province
        self.values = values
    }
}

public struct IndicatorValueChange: Codable, Sendable, Hashable {
    public var unit: UnitCode
    public var unitName: String
    public var level: AdministrativeLevel
    public var period: Period
    public var indicator: String
    /// Nil when the indicator can no longer be computed (its inputs were withdrawn).
    public var value: Quantity?
    public var numerator: Quantity?
    public var denominator: Quantity?
    public var target: Quantity?
    public var targetYear: Int?
    /// Shortfall against the target (positive: behind).
    public var gap: Quantity?
    public var meetsTarget: Bool?
    public var completeness: Quantity?
    public var previousValue: Quantity?

    public init(unit: UnitCode, unitName: String, level: AdministrativeLevel, period: Period, indicator: String, current: IndicatorValue?, previous: IndicatorValue?) {
        self.unit = unit
        self.unitName = unitName
        self.level = level
        self.period = period
        self.indicator = indicator
        self.value = current?.value
        self.numerator = current?.numerator
        self.denominator = current?.denominator
        self.target = current?.target
        self.targetYear = current?.targetYear
        self.gap = current?.gap
        self.meetsTarget = current?.meetsTarget
        self.completeness = current?.completeness
        self.previousValue = previous?.value
    }
}
