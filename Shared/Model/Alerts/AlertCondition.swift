import Foundation

/// What a rule concludes about one indicator value: whether its alert should be firing, how
/// severe, and the words to say so.
public struct AlertCondition: Sendable, Hashable {
    public var rule: String
    public var fingerprint: String
    public var active: Bool
    public var severity: AlertSeverity
    public var unit: UnitCode
    public var indicator: String
    public var period: Period
    public var value: Decimal?
    public var target: Decimal?
    public var targetYear: Int?
    public var summary: AlertTransition.Summary
}

/// `below_target`: an indicator value that does not meet its national target. Severity grows
/// with the gap (in the indicator's own unit, percentage points for rates).
public struct BelowTargetRule: Sendable {
    public static let name = "below_target"
    public var criticalGap: Decimal = 30
    public var warningGap: Decimal = 10

    public init() {}

    public func evaluate(_ change: IndicatorValueChange, catalog: Catalog) -> AlertCondition? {
        guard let indicator = catalog.indicators[change.indicator] else { return nil }
        let fingerprint = AlertFingerprint.make(rule: Self.name, unit: change.unit, indicator: change.indicator, period: change.period)
        guard let value = change.value, let target = change.target, let targetYear = change.targetYear, let meets = change.meetsTarget else {
            // The value or its target is gone: whatever fired for it is over.
            return AlertCondition(rule: Self.name, fingerprint: fingerprint, active: false, severity: .info, unit: change.unit,
                                  indicator: change.indicator, period: change.period, value: change.value, target: change.target,
                                  targetYear: change.targetYear,
                                  summary: AlertSummaryText.resolved(.init(vi: "", en: ""), unitName: change.unitName, indicator: indicator, value: change.value))
        }
        let gap = change.gap ?? 0
        let severity: AlertSeverity = gap >= criticalGap ? .critical : gap >= warningGap ? .warning : .info
        let summary = meets
            ? AlertSummaryText.resolved(.init(vi: "", en: ""), unitName: change.unitName, indicator: indicator, value: value)
            : AlertSummaryText.belowTarget(unitName: change.unitName, indicator: indicator, value: value, target: target, targetYear: targetYear)
        return AlertCondition(rule: Self.name, fingerprint: fingerprint, active: !meets, severity: severity, unit: change.unit,
                              indicator: change.indicator, period: change.period, value: value, target: target, targetYear: targetYear,
                              summary: summary)
    }
}
