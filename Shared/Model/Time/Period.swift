/// How long a period lasts. Ordered from finest to coarsest.
public enum PeriodType: String, Codable, Sendable, CaseIterable, Comparable {
    case month, quarter, year

    var rank: Int {
        switch self {
        case .month: 0
        case .quarter: 1
        case .year: 2
        }
    }

    public static func < (a: PeriodType, b: PeriodType) -> Bool { a.rank < b.rank }

    /// Months in one period of this type.
    public var months: Int {
        switch self {
        case .month: 1
        case .quarter: 3
        case .year: 12
        }
    }
}

/// A reporting period: a year (`2023`), a quarter (`2023-Q4`) or a month (`2023-10`).
public struct Period: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let type: PeriodType
    public let year: Int
    /// Month 1–12, quarter 1–4, or 1 for a year.
    public let index: Int

    public init(type: PeriodType, year: Int, index: Int) {
        self.type = type
        self.year = year
        self.index = index
    }

    public static func year(_ year: Int) -> Period { Period(type: .year, year: year, index: 1) }
    public static func quarter(_ year: Int, _ quarter: Int) -> Period { Period(type: .quarter, year: year, index: quarter) }
    public static func month(_ year: Int, _ month: Int) -> Period { Period(type: .month, year: year, index: month) }

    /// Parses `2023`, `2023-Q4` or `2023-10`; years 1900–2999.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        func digits(_ slice: ArraySlice<UInt8>) -> Int? {
            guard !slice.isEmpty, slice.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            return slice.reduce(0) { $0 * 10 + Int($1 - 48) }
        }
        guard bytes.count >= 4, let year = digits(bytes[0..<4]), (1900...2999).contains(year) else { return nil }
        if bytes.count == 4 {
            self = .year(year)
        } else if bytes.count == 7, bytes[4] == UInt8(ascii: "-"), bytes[5] == UInt8(ascii: "Q"),
                  let q = digits(bytes[6..<7]), (1...4).contains(q) {
            self = .quarter(year, q)
        } else if bytes.count == 7, bytes[4] == UInt8(ascii: "-"), let m = digits(bytes[5..<7]), (1...12).contains(m) {
            self = .month(year, m)
        } else {
            return nil
        }
    }

    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        appendText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `description`'s bytes ("2025", "2025-Q3", "2025-07") without building a String.
    public func appendText(to bytes: inout [UInt8]) {
        if year < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.appendDecimal(UInt64(year.magnitude))
        switch type {
        case .year: break
        case .quarter:
            bytes.append(UInt8(ascii: "-"))
            bytes.append(UInt8(ascii: "Q"))
            bytes.appendDecimal(UInt64(index))
        case .month:
            bytes.append(UInt8(ascii: "-"))
            bytes.appendDecimal(UInt64(index), width: 2)
        }
    }

    /// The first month of the period (1–12).
    public var firstMonth: Int {
        switch type {
        case .year: 1
        case .quarter: (index - 1) * 3 + 1
        case .month: index
        }
    }

    public var start: Day { Day(year: year, month: firstMonth, day: 1) }

    public var end: Day {
        let lastMonth = firstMonth + type.months - 1
        return Day(year: year, month: lastMonth, day: Day.daysIn(month: lastMonth, year: year))
    }

    /// The period of a coarser (or equal) type that contains this one.
    public func containing(_ coarser: PeriodType) -> Period {
        precondition(coarser >= type, "a \(type) is not inside a \(coarser)")
        switch coarser {
        case .year: return .year(year)
        case .quarter: return .quarter(year, (firstMonth - 1) / 3 + 1)
        case .month: return self
        }
    }

    /// The periods of a finer (or equal) type that make up this one, in order.
    public func subperiods(_ finer: PeriodType) -> [Period] {
        precondition(finer <= type, "a \(type) is not made of \(finer)s")
        let count = type.months / finer.months
        let first = (firstMonth - 1) / finer.months + 1
        return (0..<count).map { Period(type: finer, year: year, index: first + $0) }
    }

    /// Coarser periods that contain this one, e.g. a month's quarter and year.
    public var enclosing: [Period] {
        PeriodType.allCases.filter { $0 > type }.map { containing($0) }
    }

    public var previous: Period {
        switch type {
        case .year: return .year(year - 1)
        case .quarter: return index == 1 ? .quarter(year - 1, 4) : .quarter(year, index - 1)
        case .month: return index == 1 ? .month(year - 1, 12) : .month(year, index - 1)
        }
    }

    public var next: Period {
        switch type {
        case .year: return .year(year + 1)
        case .quarter: return index == 4 ? .quarter(year + 1, 1) : .quarter(year, index + 1)
        case .month: return index == 12 ? .month(year + 1, 1) : .month(year, index + 1)
        }
    }

    /// Chronological by end, finer first when two end together (2023-12 < 2023-Q4 < 2023).
    public static func < (a: Period, b: Period) -> Bool {
        (a.end, a.type) < (b.end, b.type)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let period = Period(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a period (2023, 2023-Q4 or 2023-10)"))
        }
        self = period
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
