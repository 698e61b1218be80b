import Foundation

/// Everything DX Pulse knows before any report arrives: units, data elements, indicators,
/// targets. Loaded from catalog/ files or from the `catalog` schema; immutable while running.
public struct Catalog: Sendable {
    public let units: UnitDirectory
    public let successions: [Succession]
    public let elements: [String: DataElement]
    public let indicators: [String: Indicator]
    /// Per indicator, sorted by year.
    public let targets: [String: [Target]]
    /// The denominators each numerator of a ratio indicator is divided by (in indicator-code
    /// order, each once): a report whose numerator exceeds one of them cannot be right.
    public let denominatorsByNumerator: [String: [String]]
    private let uses: [String: ElementUse]
    private let indicatorUses: [String: IndicatorUse]

    public init(units: [AdministrativeUnit], successions: [Succession] = [], elements: [DataElement],
                indicators: [Indicator], targets: [Target]) {
        self.units = UnitDirectory(units)
        self.successions = successions
        self.elements = Dictionary(elements.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        self.indicators = Dictionary(indicators.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })
        self.targets = Dictionary(grouping: targets, by: \.indicator).mapValues { $0.sorted { $0.year < $1.year } }
        var byElement: [String: [Indicator]] = [:]
        for indicator in indicators.sorted(by: { $0.code < $1.code }) {
            for element in Set(indicator.elements) { byElement[element, default: []].append(indicator) }
        }
        var byWeight: [String: [String]] = [:]
        for element in elements.sorted(by: { $0.code < $1.code }) {
            if let weight = element.weight { byWeight[weight, default: []].append(element.code) }
        }
        var denominators: [String: [String]] = [:]
        for indicator in indicators.sorted(by: { $0.code < $1.code }) where indicator.kind == .ratio {
            guard let numerator = indicator.numerator, let denominator = indicator.denominator,
                  !(denominators[numerator] ?? []).contains(denominator) else { continue }
            denominators[numerator, default: []].append(denominator)
        }
        self.denominatorsByNumerator = denominators
        self.uses = self.elements.mapValues { element in
            ElementUse(element: element, weightedRates: byWeight[element.code] ?? [], indicators: byElement[element.code] ?? [])
        }
        let targets = self.targets
        self.indicatorUses = self.indicators.mapValues { IndicatorUse(indicator: $0, targets: targets[$0.code] ?? []) }
    }

    /// An element with what a change of its cells reaches: the engine asks for all three for
    /// every cell it computes, and a lookup of a `String` key each (a `Hasher` per lookup) was
    /// three where one will do. A class, so a lookup hands back one reference instead of a copy
    /// of the element and its lists (a retain of each of their texts and arrays).
    public final class ElementUse: Sendable {
        public let element: DataElement
        /// The percent elements weighted by this one: a change of the weight changes their roll-up.
        public let weightedRates: [String]
        /// The indicators that read this element, in code order.
        public let indicators: [Indicator]

        init(element: DataElement, weightedRates: [String], indicators: [Indicator]) {
            self.element = element
            self.weightedRates = weightedRates
            self.indicators = indicators
        }
    }

    public func use(of element: String) -> ElementUse? {
        uses[element]
    }

    /// An indicator with its targets: the engine looks both up for every indicator value it
    /// computes, and as a class the lookup copies neither the indicator's texts nor a target's.
    public final class IndicatorUse: Sendable {
        public let indicator: Indicator
        /// Sorted by year.
        public let targets: [Target]

        /// The targets' bars, in the same order: searched without copying a target's texts.
        private let bars: [Target.Bar]

        init(indicator: Indicator, targets: [Target]) {
            self.indicator = indicator
            self.targets = targets
            self.bars = targets.map(\.bar)
        }

        /// The target a period is measured against: the first one due in or after the period's
        /// year (2023 figures are measured against the 2025 target, 2026 ones against 2030).
        public func target(for period: Period) -> Target? {
            index(for: period).map { targets[$0] }
        }

        /// The bar of `target(for:)`.
        public func bar(for period: Period) -> Target.Bar? {
            index(for: period).map { bars[$0] }
        }

        private func index(for period: Period) -> Int? {
            bars.firstIndex { $0.year >= period.year }
        }
    }

    public func use(ofIndicator code: String) -> IndicatorUse? {
        indicatorUses[code]
    }

    /// The target a period is measured against (see `IndicatorUse.target(for:)`).
    public func target(for indicator: String, period: Period) -> Target? {
        indicatorUses[indicator]?.target(for: period)
    }

    /// The finest period an indicator exists at: the coarser of its elements' period types.
    public func periodType(of indicator: Indicator) -> PeriodType? {
        indicator.elements.compactMap { elements[$0]?.periodType }.max()
    }
}
