import Foundation

/// What a rule looks at. Each kind has its own parameters; a rule file may hold several rules of
/// one kind (e.g. a stricter below-target rule for one pillar).
public enum AlertRuleKind: String, Codable, Sendable, CaseIterable {
    /// The value does not meet its national target; severity by the size of the gap.
    case belowTarget = "below_target"
    /// The linear trend of the last periods, projected to the target's year, misses the target.
    case offTrack = "off_track"
    /// The value fell from the previous period by more than a threshold.
    case regression
    /// The figures themselves look wrong (see `DataQualityCheck`).
    case dataQuality = "data_quality"
    /// No data for an expected unit and data element by the due date: driven by a timer.
    case missingReport = "missing_report"
}

/// The data-quality checks a `data_quality` rule can run.
public enum DataQualityCheck: String, Codable, Sendable, CaseIterable {
    /// A percentage above 100: more households with fibre than households.
    case ratioAbove100 = "ratio_above_100"
    /// A negative value, numerator or denominator: counts cannot be negative.
    case negativeCount = "negative_count"
    /// A value far from the unit's own history, measured in median absolute deviations.
    case implausibleJump = "implausible_jump"
}

/// Severity as a function of how bad it is: the first step whose `atLeast` the measure reaches,
/// e.g. a gap of 45 points with steps 30 → critical, 10 → warning, 0 → info is critical.
public struct SeverityStep: Codable, Sendable, Hashable {
    public var atLeast: Quantity
    public var severity: AlertSeverity

    public init(atLeast: Quantity, severity: AlertSeverity) {
        self.atLeast = atLeast
        self.severity = severity
    }
}

/// One alert rule as data (catalog/alert-rules.json, table catalog.alert_rules). Parameters not
/// used by the rule's kind must be absent; `CatalogValidation` says which are missing or extra.
public struct AlertRule: Codable, Sendable, Hashable {
    /// The rule's name in fingerprints, messages and silences, e.g. `below_target`.
    public var code: String
    public var kind: AlertRuleKind
    public var nameVi: String
    public var nameEn: String
    public var description: String?

    /// Indicators it applies to; nil means every indicator (for missing_report: unused).
    public var indicators: [String]?
    /// Administrative levels it applies to (for missing_report: the units expected to report);
    /// nil means every level.
    public var levels: [AdministrativeLevel]?
    /// Period types it applies to; nil means all.
    public var periodTypes: [PeriodType]?
    /// Aggregates less complete than this (0–1) are not judged: a province with a tenth of its
    /// communes reported is not "below target" yet. Nil: any completeness.
    public var minCompleteness: Quantity?

    /// A fixed severity, or steps by the rule's measure (below_target: the gap; off_track: the
    /// projected shortfall; regression: the drop; implausible_jump: the robust z-score).
    public var severity: AlertSeverity?
    public var severitySteps: [SeverityStep]?

    /// off_track, implausible_jump: periods looked at, ending with the judged one.
    public var window: Int?
    /// off_track, implausible_jump: fewest values in the window to judge at all.
    public var minPoints: Int?
    /// regression: the smallest fall, in the indicator's unit (percentage points for rates).
    public var minDrop: Quantity?
    /// data_quality: which check.
    public var check: DataQualityCheck?
    /// implausible_jump: robust z-score above which a value is implausible (3.5 is the usual).
    public var threshold: Quantity?
    /// implausible_jump: the smallest spread (in the indicator's unit) a MAD is taken to be, so a
    /// perfectly flat history does not make every small change implausible.
    public var minimumSpread: Quantity?
    /// ratio_above_100: the largest plausible value (default 100).
    public var maximum: Quantity?

    /// missing_report: the data elements each expected unit must report.
    public var elements: [String]?
    /// missing_report: days after the period's last day that reports are due; the alert fires
    /// at the end of the due day (midnight, Vietnam time) when the data is still missing.
    public var dueDays: Int?
    /// missing_report: the first period expected (earlier ones are history, not late reports).
    public var since: Period?
    /// missing_report: only units in these subtrees are expected; nil means the whole country.
    public var within: [UnitCode]?

    public init(code: String, kind: AlertRuleKind, nameVi: String, nameEn: String) {
        self.code = code
        self.kind = kind
        self.nameVi = nameVi
        self.nameEn = nameEn
    }

    /// The severity for a measure of how bad the condition is.
    public func severity(for measure: Quantity?) -> AlertSeverity {
        if let steps = severitySteps, !steps.isEmpty {
            let ordered = steps.sorted { $0.atLeast > $1.atLeast }
            if let measure, let step = ordered.first(where: { measure >= $0.atLeast }) { return step.severity }
            return ordered.last!.severity
        }
        return severity ?? .warning
    }

    /// Whether the rule judges this indicator value at all.
    public func applies(indicator: String, level: AdministrativeLevel, periodType: PeriodType) -> Bool {
        guard kind != .missingReport else { return false }
        if let indicators, !indicators.contains(indicator) { return false }
        if let levels, !levels.contains(level) { return false }
        if let periodTypes, !periodTypes.contains(periodType) { return false }
        return true
    }
}

/// The rule file's parse and consistency checks against the catalog.
public enum AlertRuleValidation {
    /// Every problem with the rules, as "rule CODE: reason"; empty when they are sound.
    public static func problems(_ rules: [AlertRule], catalog: Catalog) -> [String] {
        var problems: [String] = []
        var codes = Set<String>()
        for rule in rules {
            let name = "rule \(rule.code.isEmpty ? "(no code)" : rule.code)"
            func problem(_ reason: String) { problems.append("\(name): \(reason)") }
            if !codes.insert(rule.code).inserted { problem("listed twice") }
            if rule.code.isEmpty || !rule.code.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }) {
                problem("code must be lowercase letters, digits and _")
            }
            if rule.nameVi.isEmpty || rule.nameEn.isEmpty { problem("needs nameVi and nameEn") }
            for indicator in rule.indicators ?? [] where catalog.indicators[indicator] == nil {
                problem("indicator \(indicator) is not in the catalog")
            }
            if rule.indicators?.isEmpty == true { problem("indicators is empty (leave it out for every indicator)") }
            if rule.levels?.isEmpty == true { problem("levels is empty (leave it out for every level)") }
            if let minimum = rule.minCompleteness, minimum < 0 || minimum > 1 { problem("minCompleteness must be between 0 and 1") }
            if rule.severity != nil && rule.severitySteps != nil { problem("give severity or severitySteps, not both") }
            if rule.severity == nil && (rule.severitySteps ?? []).isEmpty { problem("needs a severity or severitySteps") }
            if let steps = rule.severitySteps {
                let ordered = steps.sorted { $0.atLeast > $1.atLeast }
                if Set(steps.map(\.atLeast)).count != steps.count { problem("severitySteps repeat a threshold") }
                for (higher, lower) in zip(ordered, ordered.dropFirst()) where higher.severity < lower.severity {
                    problem("severitySteps: \(higher.atLeast.description) is \(higher.severity.rawValue) but the smaller \(lower.atLeast.description) is \(lower.severity.rawValue)")
                }
            }

            var allowed: Set<String> = []
            switch rule.kind {
            case .belowTarget:
                requireTargets(rule, catalog: catalog, problem: problem)
            case .offTrack:
                allowed = ["window", "minPoints"]
                requireTargets(rule, catalog: catalog, problem: problem)
                checkWindow(rule, problem: problem)
            case .regression:
                allowed = ["minDrop"]
                if let drop = rule.minDrop { if drop <= 0 { problem("minDrop must be positive") } } else { problem("needs minDrop") }
            case .dataQuality:
                allowed = ["check", "window", "minPoints", "threshold", "minimumSpread", "maximum"]
                switch rule.check {
                case nil:
                    problem("needs check (\(DataQualityCheck.allCases.map(\.rawValue).joined(separator: ", ")))")
                case .implausibleJump:
                    checkWindow(rule, problem: problem)
                    if let threshold = rule.threshold { if threshold <= 0 { problem("threshold must be positive") } } else { problem("needs threshold") }
                    if let spread = rule.minimumSpread, spread <= 0 { problem("minimumSpread must be positive") }
                    if rule.maximum != nil { problem("maximum belongs to ratio_above_100") }
                case .ratioAbove100:
                    if rule.window != nil || rule.minPoints != nil || rule.threshold != nil || rule.minimumSpread != nil {
                        problem("ratio_above_100 takes only maximum")
                    }
                case .negativeCount:
                    if rule.window != nil || rule.minPoints != nil || rule.threshold != nil || rule.minimumSpread != nil || rule.maximum != nil {
                        problem("negative_count takes no parameters")
                    }
                }
            case .missingReport:
                allowed = ["elements", "dueDays", "since", "within"]
                if rule.indicators != nil { problem("missing_report names elements, not indicators") }
                let elements = rule.elements ?? []
                if elements.isEmpty { problem("needs elements") }
                var types = Set<PeriodType>()
                for element in elements {
                    if let info = catalog.elements[element] { types.insert(info.periodType) } else { problem("data element \(element) is not in the catalog") }
                }
                if types.count > 1 { problem("its elements must share one period type (found \(types.map(\.rawValue).sorted().joined(separator: ", ")))") }
                if let days = rule.dueDays { if days < 0 || days > 366 { problem("dueDays must be 0…366") } } else { problem("needs dueDays") }
                if let since = rule.since {
                    if let type = types.first, since.type != type { problem("since \(since) is not a \(type.rawValue) like its elements") }
                } else {
                    problem("needs since (the first period expected)")
                }
                if rule.levels == nil { problem("needs levels (which units are expected to report)") }
                for root in rule.within ?? [] where catalog.units[root] == nil { problem("within: unit \(root) is not in the catalog") }
                if rule.periodTypes != nil { problem("periodTypes does not apply (the elements' period type does)") }
            }
            let given: [(String, Bool)] = [
                ("window", rule.window != nil), ("minPoints", rule.minPoints != nil), ("minDrop", rule.minDrop != nil),
                ("check", rule.check != nil), ("threshold", rule.threshold != nil), ("minimumSpread", rule.minimumSpread != nil),
                ("maximum", rule.maximum != nil), ("elements", rule.elements != nil), ("dueDays", rule.dueDays != nil),
                ("since", rule.since != nil), ("within", rule.within != nil),
            ]
            for (field, present) in given where present && !allowed.contains(field) {
                problem("\(field) does not apply to \(rule.kind.rawValue)")
            }
        }
        return problems
    }

    private static func requireTargets(_ rule: AlertRule, catalog: Catalog, problem: (String) -> Void) {
        for indicator in rule.indicators ?? [] where catalog.indicators[indicator] != nil && (catalog.targets[indicator] ?? []).isEmpty {
            problem("indicator \(indicator) has no target to judge against")
        }
    }

    private static func checkWindow(_ rule: AlertRule, problem: (String) -> Void) {
        guard let window = rule.window, let minPoints = rule.minPoints else {
            problem("needs window and minPoints")
            return
        }
        if minPoints < 2 { problem("minPoints must be at least 2") }
        if window < minPoints || window > 120 { problem("window must be between minPoints and 120") }
    }
}
