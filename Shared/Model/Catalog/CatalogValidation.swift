import Foundation

/// Checks that the catalog files agree with each other, without a database: what `dx catalog
/// check` runs and what `dx catalog load` insists on before writing anything.
public enum CatalogValidation {
    public struct Problem: Sendable, CustomStringConvertible {
        public var file: String
        public var line: Int?
        public var reason: String
        public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(reason)" }
    }

    /// Every inconsistency found; empty when the catalog is sound.
    public static func problems(in files: CatalogFiles) -> [Problem] {
        var problems: [Problem] = []
        let catalog = files.catalog
        let units = catalog.units

        var seen = Set<UnitCode>()
        for unit in files.units {
            let file = unit.tree == .current ? CatalogFiles.currentUnits : CatalogFiles.pre2025Units
            if !seen.insert(unit.code).inserted {
                problems.append(Problem(file: file, line: nil, reason: "unit \(unit.code) is listed twice"))
            }
            if unit.name.isEmpty {
                problems.append(Problem(file: file, line: nil, reason: "unit \(unit.code) has no name"))
            }
            guard let parent = unit.parent else {
                if unit.level != .country {
                    problems.append(Problem(file: file, line: nil, reason: "\(unit.level.rawValue) \(unit.code) has no parent"))
                }
                continue
            }
            guard let parentUnit = units[parent] else {
                problems.append(Problem(file: file, line: nil, reason: "unit \(unit.code): parent \(parent) does not exist"))
                continue
            }
            let expected: Set<AdministrativeLevel> = switch (unit.tree, unit.level) {
            case (_, .country): []
            case (.current, .province), (.pre2025, .province): [.country, .province]
            case (_, .district): [.province]
            case (.current, .commune): [.province]
            case (.pre2025, .commune): [.district, .province]
            }
            if !expected.contains(parentUnit.level) {
                problems.append(Problem(file: file, line: nil, reason: "\(unit.level.rawValue) \(unit.code) has a \(parentUnit.level.rawValue) (\(parent)) as parent"))
            }
            if unit.tree == .pre2025 && unit.level == .province && parentUnit.tree != .current {
                problems.append(Problem(file: file, line: nil, reason: "pre-2025 province \(unit.code) must roll into a current province, not \(parent)"))
            }
        }

        for succession in files.successions {
            if units[succession.old] == nil {
                problems.append(Problem(file: CatalogFiles.successions, line: nil, reason: "old unit \(succession.old) does not exist"))
            }
            if units[succession.new] == nil {
                problems.append(Problem(file: CatalogFiles.successions, line: nil, reason: "new unit \(succession.new) of \(succession.old) does not exist"))
            }
        }
        let provinceSuccessors = Dictionary(grouping: files.successions.filter { units[$0.old]?.level == .province }, by: \.old)
        for unit in files.units where unit.tree == .pre2025 && unit.level == .province {
            let successors = provinceSuccessors[unit.code] ?? []
            if successors.count != 1 || successors.first?.kind != .whole {
                problems.append(Problem(file: CatalogFiles.successions, line: nil, reason: "old province \(unit.code) must go whole into exactly one new province (found \(successors.count))"))
            } else if successors[0].new != unit.parent {
                problems.append(Problem(file: CatalogFiles.successions, line: nil, reason: "old province \(unit.code) succeeds into \(successors[0].new) but rolls up into \(unit.parent?.rawValue ?? "nothing")"))
            }
        }

        var elementCodes = Set<String>()
        for element in files.elements {
            if !elementCodes.insert(element.code).inserted {
                problems.append(Problem(file: CatalogFiles.elements, line: nil, reason: "data element \(element.code) is listed twice"))
            }
            if let weight = element.weight {
                if element.valueType != .percent {
                    problems.append(Problem(file: CatalogFiles.elements, line: nil, reason: "\(element.code): only percent elements have a weight"))
                }
                guard let weightElement = catalog.elements[weight] else {
                    problems.append(Problem(file: CatalogFiles.elements, line: nil, reason: "\(element.code): weight \(weight) is not a data element"))
                    continue
                }
                if weightElement.valueType != .count || weightElement.periodType != element.periodType {
                    problems.append(Problem(file: CatalogFiles.elements, line: nil, reason: "\(element.code): weight \(weight) must be a count with the same period type"))
                }
            }
            if element.valueType == .percent && element.aggregation != .last {
                problems.append(Problem(file: CatalogFiles.elements, line: nil, reason: "\(element.code): a percentage cannot be summed over time; use aggregation last"))
            }
        }

        var indicatorCodes = Set<String>()
        for indicator in files.indicators {
            if !indicatorCodes.insert(indicator.code).inserted {
                problems.append(Problem(file: CatalogFiles.indicators, line: nil, reason: "indicator \(indicator.code) is listed twice"))
            }
            switch indicator.kind {
            case .ratio:
                if indicator.numerator == nil || indicator.denominator == nil || indicator.factor == nil {
                    problems.append(Problem(file: CatalogFiles.indicators, line: nil, reason: "ratio \(indicator.code) needs numerator, denominator and factor"))
                }
            case .rate:
                if let element = indicator.element, let e = catalog.elements[element], e.valueType != .percent {
                    problems.append(Problem(file: CatalogFiles.indicators, line: nil, reason: "rate \(indicator.code) reads \(element), which is not a percent element"))
                }
                if indicator.element == nil {
                    problems.append(Problem(file: CatalogFiles.indicators, line: nil, reason: "rate \(indicator.code) needs an element"))
                }
            }
            for element in indicator.elements where catalog.elements[element] == nil {
                problems.append(Problem(file: CatalogFiles.indicators, line: nil, reason: "indicator \(indicator.code) reads \(element), which is not a data element"))
            }
        }

        for target in files.targets {
            if catalog.indicators[target.indicator] == nil {
                problems.append(Problem(file: CatalogFiles.targets, line: nil, reason: "target for unknown indicator \(target.indicator)"))
            }
            if target.source.isEmpty {
                problems.append(Problem(file: CatalogFiles.targets, line: nil, reason: "target \(target.indicator) \(target.year) has no source"))
            }
        }

        for observation in files.seedObservations {
            if let reason = ObservationRules.problem(unit: observation.unit, period: observation.period, element: observation.element,
                                                      value: observation.value, catalog: catalog, today: nil) {
                problems.append(Problem(file: CatalogFiles.seedObservations, line: observation.line, reason: reason))
            }
        }
        for check in files.seedChecks {
            if units[check.unit] == nil {
                problems.append(Problem(file: CatalogFiles.seedChecks, line: check.line, reason: "unit \(check.unit) does not exist"))
            }
            if catalog.indicators[check.indicator] == nil {
                problems.append(Problem(file: CatalogFiles.seedChecks, line: check.line, reason: "indicator \(check.indicator) does not exist"))
            }
        }
        for reason in AlertRuleValidation.problems(files.alertRules ?? [], catalog: catalog) {
            problems.append(Problem(file: CatalogFiles.alertRules, line: nil, reason: reason))
        }
        return problems
    }

    /// Unit counts per tree and level.
    public static func unitCounts(_ files: CatalogFiles) -> [(tree: UnitTree, level: AdministrativeLevel, count: Int)] {
        var counts: [String: Int] = [:]
        for unit in files.units { counts["\(unit.tree.rawValue)/\(unit.level.rawValue)", default: 0] += 1 }
        var result: [(UnitTree, AdministrativeLevel, Int)] = []
        for tree in [UnitTree.current, .pre2025] {
            for level in AdministrativeLevel.allCases {
                if let count = counts["\(tree.rawValue)/\(level.rawValue)"] { result.append((tree, level, count)) }
            }
        }
        return result
    }
}

/// What every reported value must satisfy against the catalog, for seed data and reports alike.
public enum ObservationRules {
    /// The part of an observation a rule is about, so an API can name the field at fault.
    public enum Field: String, Sendable {
        case unit, period, element, value
    }

    /// One broken rule: the field at fault and why.
    public struct Violation: Sendable, Equatable {
        public var field: Field
        public var reason: String
    }

    /// The reason a value cannot be accepted, or nil. `today` enables the future-period check.
    public static func problem(unit: UnitCode, period: Period, element: String, value: Quantity?, catalog: Catalog, today: Day?) -> String? {
        problems(unit: unit, period: period, element: element, value: value, catalog: catalog, today: today).first?.reason
    }

    /// Every rule the observation breaks, not just the first: a client fixing a row should learn
    /// all that is wrong with it at once.
    /// A nil field (one the caller could not read) skips the rules that need it.
    public static func problems(unit: UnitCode?, period: Period?, element: String?, value: Quantity?, catalog: Catalog, today: Day?) -> [Violation] {
        var found: [Violation] = []
        let unitInfo = unit.flatMap { catalog.units[$0] }
        let elementInfo = element.flatMap { catalog.elements[$0] }
        if let unit, unitInfo == nil { found.append(Violation(field: .unit, reason: "unit \(unit) is not in the catalog")) }
        if let element, elementInfo == nil { found.append(Violation(field: .element, reason: "data element \(element) is not in the catalog")) }
        found += problems(unit: unitInfo, period: period, element: elementInfo, value: value, today: today)
        return found
    }

    /// What the rules need of a unit and an element, small enough to keep per row: a report's
    /// rows name the same few units and elements again and again, and copying a whole
    /// `AdministrativeUnit` or `DataElement` for each row cost more than the rules themselves.
    public struct Subject: Sendable {
        public var validFrom: Day?
        public var validTo: Day?
        public var periodType: PeriodType
        public var valueType: ValueType

        public init(validFrom: Day?, validTo: Day?, periodType: PeriodType, valueType: ValueType) {
            self.validFrom = validFrom
            self.validTo = validTo
            self.periodType = periodType
            self.valueType = valueType
        }

        public init(unit: AdministrativeUnit, element: DataElement) {
            self.init(validFrom: unit.validFrom, validTo: unit.validTo, periodType: element.periodType, valueType: element.valueType)
        }
    }

    /// Whether an observation breaks none of the rules `problems(unit:period:element:value:today:)`
    /// checks: the same rules, without building their messages. A caller asks `problems` only
    /// when this is false, for the reasons.
    public static func passes(_ subject: Subject, period: Period, value: Quantity, today: Day?) -> Bool {
        guard period.type == subject.periodType else { return false }
        let end = period.end
        if let validFrom = subject.validFrom, end < validFrom { return false }
        if let validTo = subject.validTo, validTo < end { return false }
        if let today, today < period.start { return false }
        if value < 0 { return false }
        switch subject.valueType {
        case .percent: return !(value > 100)
        case .count: return value.isWholeNumber
        }
    }

    /// The rules for a unit and element already looked up in the catalog (nil: not read, or not
    /// in the catalog, which the caller reports in its own words). No array is built for a
    /// valid observation: this runs for every row of every request.
    public static func problems(unit unitInfo: AdministrativeUnit?, period: Period?, element elementInfo: DataElement?, value: Quantity?,
                                today: Day?) -> [Violation] {
        var found: [Violation] = []
        if let period, let elementInfo, period.type != elementInfo.periodType {
            found.append(Violation(field: .period, reason: "\(elementInfo.code) is reported per \(elementInfo.periodType.rawValue), not per \(period.type.rawValue) (period \(period))"))
        }
        if let period, let unitInfo, !unitInfo.isValid(at: period) {
            let span = [unitInfo.validFrom.map { "from \($0)" }, unitInfo.validTo.map { "until \($0)" }].compactMap { $0 }.joined(separator: " ")
            found.append(Violation(field: .unit, reason: "\(unitInfo.name) (\(unitInfo.code)) did not exist at the end of \(period) (it existed \(span))"))
        }
        if let period, let today, today < period.start {
            found.append(Violation(field: .period, reason: "period \(period) has not started yet (today is \(today) in Vietnam)"))
        }
        if let value {
            if value < 0 {
                found.append(Violation(field: .value, reason: "a negative value (\(value.description)) cannot be a count or a rate"))
            } else if elementInfo?.valueType == .percent && value > 100 {
                found.append(Violation(field: .value, reason: "a percentage above 100 (\(value.description))"))
            } else if let elementInfo, elementInfo.valueType == .count && !value.isWholeNumber {
                found.append(Violation(field: .value, reason: "\(elementInfo.code) is a count; \(value.description) is not a whole number"))
            }
        }
        return found
    }
}
