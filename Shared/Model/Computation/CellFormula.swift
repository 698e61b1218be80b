import Foundation

/// The semantics of computation, as functions of a cell's inputs. The incremental engine and
/// the full recomputation both call these and nothing else to get a value, so they can differ
/// only in which cells they visit, which is what the equivalence tests check.
public enum CellFormula {
    /// Digits kept for completeness shares.
    public static let completenessScale = 10

    /// A child's figure for the parent's aggregate: its value, and for rates its weight.
    public struct Child: Sendable {
        public var value: Quantity?
        public var weight: Quantity?

        public init(value: Quantity?, weight: Quantity? = nil) {
            self.value = value
            self.weight = weight
        }
    }

    /// A cell at the element's own period type: the unit's own value if it has one, otherwise
    /// the aggregate of its children. Counts are summed; a reported rate is rolled up as the mean
    /// weighted by the weight element, and only when every child that reported the rate has the
    /// weight; otherwise it is not rolled up at all.
    public static func native(element: DataElement, state: CellState, children: [Child], expected: Int) -> CellState {
        var result = state
        let reported = children.filter { $0.value != nil }
        result.childrenReported = reported.count
        result.childrenExpected = expected
        if let own = state.own {
            result.value = own
            result.completeness = 1
            return result
        }
        var aggregate: Quantity?
        switch element.valueType {
        case .count:
            aggregate = reported.isEmpty ? nil : reported.reduce(Quantity.zero) { $0 + $1.value! }
        case .percent:
            if element.weight != nil, !reported.isEmpty, reported.allSatisfy({ $0.weight != nil }) {
                let weightSum = reported.reduce(Quantity.zero) { $0 + $1.weight! }
                if weightSum > 0 {
                    let weighted = reported.reduce(Quantity.zero) { $0 + $1.value! * $1.weight! }
                    aggregate = Quantity.divide(weighted, by: weightSum)
                }
            }
        }
        result.value = aggregate
        result.completeness = share(reported.count, of: expected, hasValue: aggregate != nil)
        return result
    }

    /// A cell at a coarser period than the element's own: a flow is the sum of its sub-periods,
    /// a stock the latest sub-period with a value. `subperiods` is every sub-period in order,
    /// nil where the unit has no value. Completeness of a sum is the mean over all sub-periods
    /// (a missing month counts as 0); of a stock, that of the sub-period it takes.
    public static func derived(element: DataElement, subperiods: some Collection<CellState?>) -> CellState? {
        ContiguousArray(subperiods).withUnsafeBufferPointer { derived(element: element, subperiods: $0) }
    }

    /// The same over cells read where they are kept: a loop over the states copied each one,
    /// retaining and releasing its report list (about 3% of dx-indicators' CPU).
    public static func derived(element: DataElement, subperiods: UnsafeBufferPointer<CellState?>) -> CellState? {
        var result = CellState()
        var found = false
        switch element.aggregation {
        case .sum:
            var sum = Quantity.zero
            var total = Quantity.zero
            for index in subperiods.indices {
                guard let value = subperiods[index]?.value else { continue }
                found = true
                sum += value
                total += subperiods[index]!.completeness
            }
            guard found else { return nil }
            result.value = sum
            result.completeness = Quantity.divide(total, by: Quantity(subperiods.count), scale: completenessScale)
        case .last:
            for index in subperiods.indices {
                guard let value = subperiods[index]?.value else { continue }
                found = true
                result.value = value
                result.completeness = subperiods[index]!.completeness
            }
            guard found else { return nil }
        }
        return result
    }

    /// What an indicator reads of a cell.
    public struct Figure: Sendable {
        public var value: Quantity?
        public var completeness: Quantity

        public init(value: Quantity?, completeness: Quantity) {
            self.value = value
            self.completeness = completeness
        }
    }

    /// An indicator from the cells of its elements at one unit and period (`cell` gives one's
    /// figure by element code). A ratio needs both numerator and denominator and a positive
    /// denominator.
    public static func indicator(_ indicator: Indicator, target: Target.Bar?, cell: (String) -> Figure?) -> IndicatorValue? {
        var result: IndicatorValue
        switch indicator.kind {
        case .ratio:
            guard let numeratorCode = indicator.numerator, let denominatorCode = indicator.denominator,
                  let numeratorCell = cell(numeratorCode), let denominatorCell = cell(denominatorCode),
                  let numerator = numeratorCell.value, let denominator = denominatorCell.value, denominator > 0 else { return nil }
            let factor = indicator.factor ?? 1
            result = IndicatorValue(
                value: Quantity.divide(numerator * factor, by: denominator),
                numerator: numerator, denominator: denominator,
                completeness: min(numeratorCell.completeness, denominatorCell.completeness)
            )
        case .rate:
            guard let elementCode = indicator.element, let elementCell = cell(elementCode), let value = elementCell.value else { return nil }
            result = IndicatorValue(value: value, completeness: elementCell.completeness)
        }
        if let target {
            result.target = target.value
            result.targetYear = target.year
            result.gap = indicator.direction == .higherIsBetter ? target.value - result.value : result.value - target.value
            result.meetsTarget = target.isMet(by: result.value)
        }
        return result
    }

    static func share(_ part: Int, of whole: Int, hasValue: Bool) -> Quantity {
        guard whole > 0 else { return hasValue ? 1 : 0 }
        return Quantity.divide(Quantity(min(part, whole)), by: Quantity(whole), scale: completenessScale)
    }
}
