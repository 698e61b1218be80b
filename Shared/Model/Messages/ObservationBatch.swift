import Foundation

/// `dx.observations.v1`: observations for one province from one report revision or one batch
/// of events, in the order dx-ingest accepted them.
public struct ObservationBatch: Codable, Sendable, Hashable {
    public static let schema = "dx.observations.v1"

    public enum Origin: String, Codable, Sendable {
        case report, events
    }

    /// Current-tree province every observation belongs to (the message key).
    public var province: UnitCode
    public var origin: Origin
    /// For reports: the client's report id and the revision.
    public var reportID: String?
    public var revision: Int?
    /// dx-ingest's acceptance order: among reports giving the same cell, the later wins.
    public var sequence: Int64
    public var observations: [Observation]

    public init(province: UnitCode, origin: Origin, reportID: String? = nil, revision: Int? = nil, sequence: Int64, observations: [Observation]) {
        self.province = province
        self.origin = origin
        self.reportID = reportID
        self.revision = revision
        self.sequence = sequence
        self.observations = observations
    }

    enum CodingKeys: String, CodingKey {
        case province, origin, reportID = "reportId", revision, sequence, observations
    }

    /// The inputs the engine applies, or the reason the batch is malformed.
    public func inputs() throws(InvalidMessage) -> [ObservationInput] {
        try observations.enumerated().map { (index, observation) throws(InvalidMessage) -> ObservationInput in
            let key = CellKey(unit: observation.unit, period: observation.period, element: observation.element)
            switch (observation.value, observation.delta, observation.withdrawn ?? false) {
            case (let value?, nil, false):
                guard let reportID, let revision else { throw InvalidMessage("observations[\(index)]: a value needs the batch's reportId and revision") }
                return .reported(key, ReportedValue(reportID: reportID, revision: revision, sequence: sequence, value: value))
            case (nil, let delta?, false):
                return .delta(key, delta)
            case (nil, nil, true):
                guard let reportID, let revision else { throw InvalidMessage("observations[\(index)]: a withdrawal needs the batch's reportId and revision") }
                return .retracted(key, reportID: reportID, revision: revision, sequence: sequence)
            default:
                throw InvalidMessage("observations[\(index)]: exactly one of value, delta or withdrawn must be given")
            }
        }
    }
}

/// One figure: an absolute `value` from a report, a `delta` from events, or `withdrawn` when a
/// later revision of the report no longer gives the cell.
public struct Observation: Codable, Sendable, Hashable {
    public var unit: UnitCode
    public var period: Period
    public var element: String
    public var value: Quantity?
    public var delta: Quantity?
    public var withdrawn: Bool?

    public init(unit: UnitCode, period: Period, element: String, value: Quantity? = nil, delta: Quantity? = nil, withdrawn: Bool? = nil) {
        self.unit = unit
        self.period = period
        self.element = element
        self.value = value
        self.delta = delta
        self.withdrawn = withdrawn
    }
}

/// A message that decodes but makes no sense; it goes to the dead-letter topic.
public struct InvalidMessage: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
