import Foundation

/// One change to what units reported, as the engine applies it.
public enum ObservationInput: Sendable, Hashable {
    /// A report (revision) gives a value for a cell.
    case reported(CellKey, ReportedValue)
    /// A later revision of a report no longer gives a value for this cell.
    case retracted(CellKey, reportID: String, revision: Int, sequence: Int64)
    /// A count increment derived from events.
    case delta(CellKey, Quantity)

    public var key: CellKey {
        switch self {
        case .reported(let key, _), .retracted(let key, _, _, _), .delta(let key, _): key
        }
    }
}

extension CellState {
    /// Applies an input to the cell's own inputs; returns false when it changes nothing (a
    /// stale revision, an unknown retraction).
    mutating func apply(_ input: ObservationInput) -> Bool {
        switch input {
        case .reported(_, let incoming):
            return reports.merge(incoming)
        case .retracted(_, let reportID, let revision, let sequence):
            return reports.merge(ReportedValue(reportID: reportID, revision: revision, sequence: sequence, value: nil))
        case .delta(_, let amount):
            deltaSum += amount
            deltaCount += 1
            return true
        }
    }
}

extension [ReportedValue] {
    /// Keeps the highest revision of each report; returns whether anything changed. Kept in
    /// report-id order, so the same reports give the same array in any arrival order.
    mutating func merge(_ incoming: ReportedValue) -> Bool {
        if let index = firstIndex(where: { $0.reportID == incoming.reportID }) {
            guard incoming.revision > self[index].revision else { return false }
            self[index] = incoming
        } else {
            let position = firstIndex { $0.reportID > incoming.reportID } ?? endIndex
            insert(incoming, at: position)
        }
        return true
    }
}
