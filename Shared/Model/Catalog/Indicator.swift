import Foundation

/// The three pillars of Vietnam's digital transformation programme.
public enum Pillar: String, Codable, Sendable, CaseIterable {
    /// Digital government.
    case chinhQuyenSo = "chinh_quyen_so"
    /// Digital economy.
    case kinhTeSo = "kinh_te_so"
    /// Digital society.
    case xaHoiSo = "xa_hoi_so"

    public var nameVi: String {
        switch self {
        case .chinhQuyenSo: "Chính quyền số"
        case .kinhTeSo: "Kinh tế số"
        case .xaHoiSo: "Xã hội số"
        }
    }

    public var nameEn: String {
        switch self {
        case .chinhQuyenSo: "Digital government"
        case .kinhTeSo: "Digital economy"
        case .xaHoiSo: "Digital society"
        }
    }
}

public enum Direction: String, Codable, Sendable {
    case higherIsBetter = "higher_is_better"
    case lowerIsBetter = "lower_is_better"
}

/// What is measured against targets. A ratio is computed at every level from the aggregated
/// numerator and denominator (never by averaging children's ratios); a rate is a reported
/// percentage taken as it is.
public struct Indicator: Hashable, Sendable, Codable {
    public enum Kind: String, Codable, Sendable {
        case ratio, rate
    }

    public var code: String
    public var nameVi: String
    public var nameEn: String
    public var pillar: Pillar
    public var kind: Kind
    public var numerator: String?
    public var denominator: String?
    public var factor: Quantity?
    /// For a rate: the percent data element.
    public var element: String?
    public var direction: Direction
    public var unit: String?

    public init(code: String, nameVi: String, nameEn: String, pillar: Pillar, kind: Kind, numerator: String? = nil,
                denominator: String? = nil, factor: Quantity? = nil, element: String? = nil,
                direction: Direction = .higherIsBetter, unit: String? = "%") {
        self.code = code
        self.nameVi = nameVi
        self.nameEn = nameEn
        self.pillar = pillar
        self.kind = kind
        self.numerator = numerator
        self.denominator = denominator
        self.factor = factor
        self.element = element
        self.direction = direction
        self.unit = unit
    }

    /// The data elements the indicator reads.
    public var elements: [String] {
        switch kind {
        case .ratio: [numerator, denominator].compactMap { $0 }
        case .rate: [element].compactMap { $0 }
        }
    }
}

/// A national target for an indicator in a year, with the decision that sets it.
public struct Target: Hashable, Sendable, Codable {
    public enum Comparison: String, Codable, Sendable {
        case atLeast = "at_least"
        case moreThan = "more_than"
        case atMost = "at_most"
        case lessThan = "less_than"

        public var symbolVi: String {
            switch self {
            case .atLeast: "≥"
            case .moreThan: ">"
            case .atMost: "≤"
            case .lessThan: "<"
            }
        }
    }

    public var indicator: String
    public var year: Int
    public var value: Quantity
    public var comparison: Comparison
    public var source: String
    public var note: String?

    public init(indicator: String, year: Int, value: Quantity, comparison: Comparison, source: String, note: String? = nil) {
        self.indicator = indicator
        self.year = year
        self.value = value
        self.comparison = comparison
        self.source = source
        self.note = note
    }

    /// Whether a value meets the target.
    public func isMet(by value: Quantity) -> Bool {
        bar.isMet(by: value)
    }

    /// What an indicator value is measured against, without the target's texts: the engine
    /// reads one for every value it computes, and a `Target` copied its three strings each time.
    public struct Bar: Sendable, Equatable {
        public var year: Int
        public var value: Quantity
        public var comparison: Comparison

        public init(year: Int, value: Quantity, comparison: Comparison) {
            self.year = year
            self.value = value
            self.comparison = comparison
        }

        /// Whether a value meets the bar.
        public func isMet(by value: Quantity) -> Bool {
            switch comparison {
            case .atLeast: value >= self.value
            case .moreThan: value > self.value
            case .atMost: value <= self.value
            case .lessThan: value < self.value
            }
        }
    }

    public var bar: Bar { Bar(year: year, value: value, comparison: comparison) }
}
