/// How a data element's finer periods make up a coarser one.
public enum TimeAggregation: String, Codable, Sendable {
    /// Flows: a quarter's dossiers are the sum of its months'.
    case sum
    /// Stocks: a year's households with fibre are the latest figure in it.
    case last
}

public enum ValueType: String, Codable, Sendable {
    /// A count of people, households, villages, dossiers...
    case count
    /// A rate reported directly as a percentage (0–100).
    case percent
}

/// Something a unit reports: a count or a directly reported rate, for one kind of period.
public struct DataElement: Hashable, Sendable, Codable {
    public var code: String
    public var nameVi: String
    public var nameEn: String
    /// The period type reports use for it; coarser periods are derived.
    public var periodType: PeriodType
    public var aggregation: TimeAggregation
    public var valueType: ValueType
    /// For a percent element: the count element whose values weight the rate when rolling it up
    /// the tree. Without one, a reported rate is not rolled up at all.
    public var weight: String?

    public init(code: String, nameVi: String, nameEn: String, periodType: PeriodType, aggregation: TimeAggregation,
                valueType: ValueType, weight: String? = nil) {
        self.code = code
        self.nameVi = nameVi
        self.nameEn = nameEn
        self.periodType = periodType
        self.aggregation = aggregation
        self.valueType = valueType
        self.weight = weight
    }
}
