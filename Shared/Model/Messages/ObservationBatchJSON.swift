import Foundation

/// `dx.observations.v1` written and read directly (see `MessageJSONPayload`): dx-ingest writes
/// one per accepted report, dx-indicators reads every one.
extension ObservationBatch: MessageJSONPayload {
    public func writeJSON(to writer: inout MessageJSONWriter) {
        writer.beginObject()
        writer.key("observations")
        writer.beginArray()
        for observation in observations {
            writer.element()
            observation.writeJSON(to: &writer)
        }
        writer.endArray()
        writer.key("origin", origin.rawValue)
        writer.key("province", province.rawValue)
        writer.key("reportId", ifPresent: reportID)
        writer.key("revision", ifPresent: revision)
        writer.key("sequence")
        writer.number(sequence)
        writer.endObject()
    }

    public static func readJSON(from reader: inout MessageJSONReader) throws(MessageJSONError) -> ObservationBatch {
        var province: UnitCode?, origin: Origin?, reportID: String??, revision: Int??, sequence: Int64?, observations: [Observation]?
        var first = true
        while let key = try reader.nextKey(first: &first) {
            switch key {
            case "province" where province == nil: province = UnitCode(try reader.string())
            case "origin" where origin == nil:
                let text = try reader.string()
                guard let value = Origin(rawValue: text) else { throw reader.error("origin '\(text)'") }
                origin = value
            case "reportId" where reportID == nil: reportID = .some(reader.null() ? nil : try reader.string())
            case "revision" where revision == nil: revision = .some(reader.null() ? nil : try reader.integer(Int.self))
            case "sequence" where sequence == nil: sequence = try reader.integer(Int64.self)
            case "observations" where observations == nil:
                var list: [Observation] = []
                var firstElement = true
                while try reader.nextElement(first: &firstElement) {
                    list.append(try Observation.readJSON(from: &reader))
                }
                observations = list
            default: try reader.skipValue()
            }
        }
        guard let province, let origin, let sequence, let observations else { throw reader.error("a batch field is missing") }
        return ObservationBatch(province: province, origin: origin, reportID: reportID ?? nil, revision: revision ?? nil,
                                sequence: sequence, observations: observations)
    }
}

extension Observation {
    func writeJSON(to writer: inout MessageJSONWriter) {
        writer.beginObject()
        writer.key("delta", ifPresent: delta)
        writer.key("element", element)
        writer.key("period", period)
        writer.key("unit", unit.rawValue)
        writer.key("value", ifPresent: value)
        writer.key("withdrawn", ifPresent: withdrawn)
        writer.endObject()
    }

    static func readJSON(from reader: inout MessageJSONReader) throws(MessageJSONError) -> Observation {
        var unit: UnitCode?, period: Period?, element: String?, value: Quantity??, delta: Quantity??, withdrawn: Bool??
        var first = true
        while let key = try reader.nextKey(first: &first) {
            switch key {
            case "unit" where unit == nil: unit = UnitCode(try reader.string())
            case "period" where period == nil:
                let text = try reader.string()
                guard let value = Period(text) else { throw reader.error("period '\(text)'") }
                period = value
            case "element" where element == nil: element = try reader.string()
            case "value" where value == nil: value = .some(reader.null() ? nil : try reader.quantity())
            case "delta" where delta == nil: delta = .some(reader.null() ? nil : try reader.quantity())
            case "withdrawn" where withdrawn == nil: withdrawn = .some(reader.null() ? nil : try reader.bool())
            default: try reader.skipValue()
            }
        }
        guard let unit, let period, let element else { throw reader.error("an observation field is missing") }
        return Observation(unit: unit, period: period, element: element, value: value ?? nil, delta: delta ?? nil, withdrawn: withdrawn ?? nil)
    }
}
