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
    }

    /// An element with what a change of its cells reaches: the engine asks for all three for
    /// every cell it computes, and a lookup of a `String` key each (a `Hasher` per lookup) was
    /// three where one will do.
    public struct ElementUse: Sendable {
        public let element: DataElement
        /// The percent elements weighted by this one: a change of the weight changes their roll-up.
        public let weightedRates: [String]
        /// The indicators that read this element, in code order.
        public let indicators: [Indicator]
    }

    public func use(of element: String) -> ElementUse? {
        uses[element]
    }

    /// The target a period is measured against: the first one due in or after the period's year
    /// (2023 figures are measured against the 2025 target, 2026 ones against 2030).
    public func target(for indicator: String, period: Period) -> Target? {
        targets[indicator]?.first { $0.year >= period.year }
    }

    /// The finest period an indicator exists at: the coarser of its elements' period types.
    public func periodType(of indicator: Indicator) -> PeriodType? {
        indicator.elements.compactMap { elements[$0]?.periodType }.max()
    }
}
