import DXModel
import Foundation

/// The JSON of a cell's report values, written and read without a general-purpose encoder: this
/// is on the path of every changed cell.
enum ReportsCoding {
    /// `[["report",2,17,"4254"],["other",1,9,null]]`.
    static func json(_ reports: [ReportedValue]) -> String? {
        guard !reports.isEmpty else { return nil }
        var text = "["
        for (index, report) in reports.enumerated() {
            if index > 0 { text += "," }
            text += "[\(jsonString(report.reportID)),\(report.revision),\(report.sequence),"
            text += report.value.map { "\"\($0)\"" } ?? "null"
            text += "]"
        }
        return text + "]"
    }

    static func parse(_ text: String?) throws -> [ReportedValue] {
        guard let text, !text.isEmpty else { return [] }
        guard let entries = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]] else {
            throw EngineStateError("reports column is not an array of arrays: \(text.prefix(80))")
        }
        return try entries.map { entry in
            guard entry.count == 4, let id = entry[0] as? String, let revision = (entry[1] as? NSNumber)?.intValue,
                  let sequence = (entry[2] as? NSNumber)?.int64Value else {
                throw EngineStateError("malformed report entry \(entry)")
            }
            return ReportedValue(reportID: id, revision: revision, sequence: sequence, value: (entry[3] as? String).flatMap { Quantity.parse($0) })
        }.sorted { $0.reportID < $1.reportID }
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

struct EngineStateError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
