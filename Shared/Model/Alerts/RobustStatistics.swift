import Foundation

/// Statistics the rules need, in exact decimals so the same figures always give the same alert.
public enum RobustStatistics {
    /// The middle value (the mean of the two middle ones for an even count); nil when empty.
    public static func median(_ values: [Decimal]) -> Decimal? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Median absolute deviation from the median: a spread that one wild value cannot inflate,
    /// unlike the standard deviation.
    public static func medianAbsoluteDeviation(_ values: [Decimal]) -> Decimal? {
        guard let center = median(values) else { return nil }
        return median(values.map { abs($0 - center) })
    }

    /// The modified z-score of Iglewicz and Hoaglin: 0.6745 (x − median) / MAD. Values above 3.5
    /// are the conventional outliers. `minimumSpread` stands in for a MAD smaller than it.
    public static func robustZ(_ value: Decimal, history: [Decimal], minimumSpread: Decimal) -> (z: Decimal, median: Decimal)? {
        guard let center = median(history), let mad = medianAbsoluteDeviation(history) else { return nil }
        let spread = max(mad, minimumSpread)
        guard spread > 0 else { return nil }
        return (ExactDecimal.round(Decimal(string: "0.6745")! * (value - center) / spread, scale: 4), center)
    }

    /// Least-squares line through the points; nil with fewer than two distinct x values.
    public static func linearFit(_ points: [(x: Decimal, y: Decimal)]) -> (intercept: Decimal, slope: Decimal)? {
        guard points.count >= 2 else { return nil }
        let n = Decimal(points.count)
        let meanX = points.reduce(Decimal(0)) { $0 + $1.x } / n
        let meanY = points.reduce(Decimal(0)) { $0 + $1.y } / n
        var sxx = Decimal(0), sxy = Decimal(0)
        for point in points {
            sxx += (point.x - meanX) * (point.x - meanX)
            sxy += (point.x - meanX) * (point.y - meanY)
        }
        guard sxx > 0 else { return nil }
        let slope = sxy / sxx
        return (meanY - slope * meanX, slope)
    }
}

extension Period {
    /// Consecutive numbering within a period type (years, quarters or months since year 0), so
    /// trends can be fitted across gaps and year ends.
    public var ordinal: Int {
        switch type {
        case .year: year
        case .quarter: year * 4 + index - 1
        case .month: year * 12 + index - 1
        }
    }

    /// The period of this type at `ordinal`.
    public static func at(ordinal: Int, type: PeriodType) -> Period {
        switch type {
        case .year: .year(ordinal)
        case .quarter: .quarter(ordinal / 4, ordinal % 4 + 1)
        case .month: .month(ordinal / 12, ordinal % 12 + 1)
        }
    }

    /// The last period of this type in `year` (the year, its fourth quarter, its December).
    public static func last(of type: PeriodType, in year: Int) -> Period {
        switch type {
        case .year: .year(year)
        case .quarter: .quarter(year, 4)
        case .month: .month(year, 12)
        }
    }
}
