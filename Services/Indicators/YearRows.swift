import DXModel
import Foundation

/// How the engine lays a year of one unit's cells (or indicator values) into one row: slots 1–12
/// are the months, 13–16 the quarters, 17 the year.
enum YearSlot {
    static let count = 17

    static func slot(of period: Period) -> Int {
        switch period.type {
        case .month: period.index
        case .quarter: 12 + period.index
        case .year: 17
        }
    }

    static func period(year: Int, slot: Int) -> Period {
        switch slot {
        case 1...12: .month(year, slot)
        case 13...16: .quarter(year, slot - 12)
        default: .year(year)
        }
    }

    static let all = 1...count
}

/// The key of a row of `engine.cell_years` or `engine.indicator_years`.
struct YearRowKey: Hashable, Comparable {
    var unit: UnitCode
    /// A data element or an indicator code.
    var code: String
    var year: Int

    static func < (a: YearRowKey, b: YearRowKey) -> Bool {
        (a.unit, a.code, a.year) < (b.unit, b.code, b.year)
    }
}

/// PostgreSQL array literals (`{1.5,NULL,2}`) and the JSON of report values, written and read
/// without a general-purpose encoder: these are the hot paths of every batch and every load.
enum YearRowCoding {
    static func arrayLiteral(_ items: [String?]) -> String {
        var text = "{"
        for (index, item) in items.enumerated() {
            if index > 0 { text += "," }
            text += item ?? "NULL"
        }
        return text + "}"
    }

    /// Parses `{1.5,NULL,2}`; elements never contain commas, quotes or braces here.
    static func parseArray(_ text: String) -> [String?] {
        guard text.count >= 2 else { return [] }
        return text.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false).map { $0 == "NULL" ? nil : String($0) }
    }

    /// `{"1":[["report",2,17,"4254"]],"13":[...]}`: each report's entry per slot.
    static func reportsJSON(_ bySlot: [(Int, [ReportedValue])]) -> String {
        var text = "{"
        var first = true
        for (slot, reports) in bySlot where !reports.isEmpty {
            if !first { text += "," }
            first = false
            text += "\"\(slot)\":["
            for (index, report) in reports.enumerated() {
                if index > 0 { text += "," }
                text += "[\(jsonString(report.reportID)),\(report.revision),\(report.sequence),"
                text += report.value.map { "\"\(ExactDecimal.string($0))\"" } ?? "null"
                text += "]"
            }
            text += "]"
        }
        return text + "}"
    }

    static func parseReports(_ text: String) throws -> [Int: [ReportedValue]] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: [[Any]]] else {
            throw EngineStateError("reports column is not an object of arrays: \(text.prefix(80))")
        }
        var result: [Int: [ReportedValue]] = [:]
        for (slotText, entries) in object {
            guard let slot = Int(slotText) else { throw EngineStateError("reports slot '\(slotText)' is not a number") }
            result[slot] = try entries.map { entry in
                guard entry.count == 4, let id = entry[0] as? String, let revision = (entry[1] as? NSNumber)?.intValue,
                      let sequence = (entry[2] as? NSNumber)?.int64Value else {
                    throw EngineStateError("malformed report entry \(entry)")
                }
                let value: Decimal? = (entry[3] as? String).flatMap(ExactDecimal.parse)
                return ReportedValue(reportID: id, revision: revision, sequence: sequence, value: value)
            }.sorted { $0.reportID < $1.reportID }
        }
        return result
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
