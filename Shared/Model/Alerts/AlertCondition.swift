import Foundation

/// What a rule concludes about one indicator value (or one expected report): whether its alert
/// should be open, how severe, and the words to say so.
public struct AlertCondition: Sendable, Hashable {
    public var rule: String
    public var ruleKind: AlertRuleKind
    public var fingerprint: String
    public var active: Bool
    public var severity: AlertSeverity
    public var unit: UnitCode
    /// The indicator's code; for missing_report, the data element's.
    public var indicator: String
    public var period: Period
    public var value: Quantity?
    public var target: Quantity?
    public var targetYear: Int?
    /// While active: what is wrong. Inactive: that it cleared.
    public var summary: AlertTransition.Summary

    public init(rule: AlertRule, active: Bool, severity: AlertSeverity, unit: UnitCode, indicator: String, period: Period,
                value: Quantity?, target: Quantity?, targetYear: Int?, summary: AlertTransition.Summary) {
        self.rule = rule.code
        self.ruleKind = rule.kind
        self.fingerprint = AlertFingerprint.make(rule: rule.code, unit: unit, indicator: indicator, period: period)
        self.active = active
        self.severity = severity
        self.unit = unit
        self.indicator = indicator
        self.period = period
        self.value = value
        self.target = target
        self.targetYear = targetYear
        self.summary = summary
    }
}

/// One period of a unit's indicator series, as dx-alerts keeps it (alerting.indicator_history).
public struct SeriesPoint: Sendable, Hashable {
    public var period: Period
    public var value: Quantity
    public var numerator: Quantity?
    public var denominator: Quantity?
    public var target: Quantity?
    public var targetYear: Int?
    /// Shortfall against the target (positive: behind), as the engine computed it.
    public var gap: Quantity?
    public var meetsTarget: Bool?
    public var completeness: Quantity?

    public init(period: Period, value: Quantity, numerator: Quantity? = nil, denominator: Quantity? = nil, target: Quantity? = nil,
                targetYear: Int? = nil, gap: Quantity? = nil, meetsTarget: Bool? = nil, completeness: Quantity? = nil) {
        self.period = period
        self.value = value
        self.numerator = numerator
        self.denominator = denominator
        self.target = target
        self.targetYear = targetYear
        self.gap = gap
        self.meetsTarget = meetsTarget
        self.completeness = completeness
    }

    public init?(_ change: IndicatorValueChange) {
        guard let value = change.value else { return nil }
        self.init(period: change.period, value: value, numerator: change.numerator, denominator: change.denominator, target: change.target,
                  targetYear: change.targetYear, gap: change.gap, meetsTarget: change.meetsTarget, completeness: change.completeness)
    }
}

/// Applies the value rules (everything but missing_report) to one unit's indicator at one period,
/// given the unit's own history of that indicator. Pure: the same rules, catalog and series
/// always give the same conditions.
public struct AlertEvaluator: Sendable {
    public let rules: [AlertRule]
    public let catalog: Catalog

    public init(rules: [AlertRule], catalog: Catalog) {
        self.rules = rules.filter { $0.kind != .missingReport }
        self.catalog = catalog
    }

    /// How many earlier periods a value's alerts depend on: a change to a period re-judges the
    /// later periods up to this distance (their trend, previous value or history changed).
    public var lookback: Int {
        rules.reduce(1) { result, rule in
            switch rule.kind {
            case .offTrack, .dataQuality: max(result, rule.window ?? 1)
            default: result
            }
        }
    }

    /// One condition per applicable rule. `series` holds the unit's values of this indicator for
    /// periods of the same type, in any order; the point at `period`, if there is none, means the
    /// value is gone and every alert on it clears.
    public func evaluate(unit: UnitCode, indicator code: String, period: Period, series: [SeriesPoint]) -> [AlertCondition] {
        guard let unitInfo = catalog.units[unit], let indicator = catalog.indicators[code] else { return [] }
        let byOrdinal = Dictionary(series.filter { $0.period.type == period.type }.map { ($0.period.ordinal, $0) }, uniquingKeysWith: { _, last in last })
        let point = byOrdinal[period.ordinal]
        var result: [AlertCondition] = []
        for rule in rules where rule.applies(indicator: code, level: unitInfo.level, periodType: period.type) {
            let context = Context(rule: rule, unitName: unitInfo.name, unit: unit, indicator: indicator, period: period, catalog: catalog)
            guard let point else {
                result.append(context.cleared(value: nil, target: nil, targetYear: nil))
                continue
            }
            if let minimum = rule.minCompleteness, let completeness = point.completeness, completeness < minimum {
                result.append(context.cleared(value: point.value, target: point.target, targetYear: point.targetYear))
                continue
            }
            result.append(context.judge(point, history: byOrdinal))
        }
        return result
    }

    private struct Context {
        let rule: AlertRule
        let unitName: String
        let unit: UnitCode
        let indicator: Indicator
        let period: Period
        let catalog: Catalog

        var text: AlertText { AlertText(unitName: unitName, indicator: indicator, period: period) }

        func condition(active: Bool, measure: Quantity?, point: SeriesPoint, summary: AlertTransition.Summary) -> AlertCondition {
            if !active { return cleared(value: point.value, target: point.target, targetYear: point.targetYear) }
            return AlertCondition(rule: rule, active: true, severity: rule.severity(for: measure), unit: unit, indicator: indicator.code,
                                  period: period, value: point.value, target: point.target, targetYear: point.targetYear, summary: summary)
        }

        func cleared(value: Quantity?, target: Quantity?, targetYear: Int?) -> AlertCondition {
            AlertCondition(rule: rule, active: false, severity: rule.severity(for: nil), unit: unit, indicator: indicator.code, period: period,
                           value: value, target: target, targetYear: targetYear, summary: text.cleared(rule: rule, value: value))
        }

        /// Positive when `later` is worse than `earlier`, in the indicator's direction.
        func worsening(from earlier: Quantity, to later: Quantity) -> Quantity {
            indicator.direction == .higherIsBetter ? earlier - later : later - earlier
        }

        func judge(_ point: SeriesPoint, history: [Int: SeriesPoint]) -> AlertCondition {
            switch rule.kind {
            case .belowTarget:
                guard let target = point.target, let year = point.targetYear, let meets = point.meetsTarget else {
                    return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                }
                return condition(active: !meets, measure: point.gap, point: point,
                                 summary: text.belowTarget(value: point.value, target: target, targetYear: year))

            case .offTrack:
                guard let target = catalog.target(for: indicator.code, period: period), period.year <= target.year,
                      let window = rule.window, let minPoints = rule.minPoints else {
                    return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                }
                let points = ((period.ordinal - window + 1)...period.ordinal).compactMap { history[$0] }
                // The fit divides without end: it runs in Decimal, the projection comes back rounded.
                guard points.count >= minPoints,
                      let fit = RobustStatistics.linearFit(points.map { (Decimal($0.period.ordinal), $0.value.decimal) }),
                      let projected = Quantity(exactly: ExactDecimal.round(fit.intercept + fit.slope * Decimal(Period.last(of: period.type, in: target.year).ordinal), scale: 4)) else {
                    return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                }
                let shortfall = worsening(from: target.value, to: projected)
                var withTarget = point
                withTarget.target = target.value
                withTarget.targetYear = target.year
                return condition(active: !target.isMet(by: projected), measure: shortfall, point: withTarget,
                                 summary: text.offTrack(value: point.value, projected: projected, target: target.value, targetYear: target.year, periods: points.count))

            case .regression:
                guard let minDrop = rule.minDrop, let previous = history[period.ordinal - 1] else {
                    return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                }
                let drop = worsening(from: previous.value, to: point.value)
                return condition(active: drop >= minDrop, measure: drop, point: point,
                                 summary: text.regression(value: point.value, previous: previous.value, previousPeriod: previous.period))

            case .dataQuality:
                switch rule.check {
                case .ratioAbove100:
                    let maximum = rule.maximum ?? 100
                    return condition(active: point.value > maximum, measure: point.value - maximum, point: point,
                                     summary: text.aboveMaximum(value: point.value, maximum: maximum, numerator: point.numerator, denominator: point.denominator))
                case .negativeCount:
                    let negatives = [("value", point.value), ("numerator", point.numerator), ("denominator", point.denominator)]
                        .compactMap { name, value in value.flatMap { $0 < 0 ? (name, $0) : nil } }
                    return condition(active: !negatives.isEmpty, measure: nil, point: point, summary: text.negative(negatives))
                case .implausibleJump:
                    guard let window = rule.window, let minPoints = rule.minPoints, let threshold = rule.threshold else {
                        return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                    }
                    let earlier = ((period.ordinal - window)..<period.ordinal).compactMap { history[$0]?.value }
                    guard earlier.count >= minPoints,
                          let (zDecimal, medianDecimal) = RobustStatistics.robustZ(point.value.decimal, history: earlier.map(\.decimal),
                                                                                   minimumSpread: (rule.minimumSpread ?? 0).decimal),
                          let z = Quantity(exactly: zDecimal), let median = Quantity(exactly: ExactDecimal.round(medianDecimal, scale: Quantity.scale)) else {
                        return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                    }
                    return condition(active: z.magnitude > threshold, measure: z.magnitude, point: point,
                                     summary: text.implausible(value: point.value, median: median, z: z, periods: earlier.count))
                case nil:
                    return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
                }

            case .missingReport:
                return cleared(value: point.value, target: point.target, targetYear: point.targetYear)
            }
        }
    }
}

/// When reports are due and who must send them, for `missing_report` rules. Pure; the timer in
/// dx-alerts asks it with its clock's time.
public enum MissingReportSchedule {
    /// The instant a period's reports become late: the end (midnight, Vietnam time) of the day
    /// `dueDays` after the period's last day.
    public static func deadline(of period: Period, dueDays: Int) -> Date {
        period.end.adding(days: dueDays + 1).startInstant
    }

    /// Periods from the rule's `since` whose deadline has passed at `now`, oldest first, at most
    /// `limit` (the most recent ones).
    public static func duePeriods(_ rule: AlertRule, now: Date, limit: Int = 240) -> [Period] {
        guard let since = rule.since, let dueDays = rule.dueDays else { return [] }
        var periods: [Period] = []
        var period = since
        while deadline(of: period, dueDays: dueDays) <= now {
            periods.append(period)
            period = period.next
            if periods.count > limit * 4 { break }
        }
        return Array(periods.suffix(limit))
    }

    /// Units expected to report for a period: of the rule's levels, existing at the period's end,
    /// inside its `within` subtrees.
    public static func expectedUnits(_ rule: AlertRule, period: Period, catalog: Catalog) -> [UnitCode] {
        let levels = Set(rule.levels ?? AdministrativeLevel.allCases)
        let candidates: [UnitCode] = if let roots = rule.within {
            Array(Set(roots.flatMap { catalog.units.subtree(of: $0) }))
        } else {
            Array(catalog.units.units.keys)
        }
        return candidates.filter { code in
            guard let unit = catalog.units[code] else { return false }
            return levels.contains(unit.level) && unit.isValid(at: period)
        }.sorted()
    }

    /// The condition of one expected report: firing while `present` is false.
    public static func condition(_ rule: AlertRule, unit: UnitCode, element: String, period: Period, present: Bool, catalog: Catalog) -> AlertCondition {
        let unitName = catalog.units[unit]?.name ?? unit.rawValue
        let info = catalog.elements[element]
        let due = period.end.adding(days: rule.dueDays ?? 0)
        let text = AlertText.missing(unitName: unitName, elementVi: info?.nameVi ?? element, elementEn: info?.nameEn ?? element, period: period, due: due)
        let cleared = AlertText.received(unitName: unitName, elementVi: info?.nameVi ?? element, elementEn: info?.nameEn ?? element, period: period)
        return AlertCondition(rule: rule, active: !present, severity: rule.severity(for: nil), unit: unit, indicator: element, period: period,
                              value: nil, target: nil, targetYear: nil, summary: present ? cleared : text)
    }
}
