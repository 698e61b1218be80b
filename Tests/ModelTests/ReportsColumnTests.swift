import DXModel
import Foundation
import Testing

/// A cell's `reports` column: what dx-indicators writes it reads back, and it reads what
/// PostgreSQL prints for jsonb the same as a general JSON parser would.
@Suite("Reports column: written and read back, as PostgreSQL prints it")
struct ReportsColumnTests {
    static func randomReports(_ rng: inout SeededGenerator) -> [ReportedValue] {
        let pieces = ["r-1", "Xã Hướng Hiệp", "\"quoted\"", "back\\slash", "tab\there", "line\nbreak", "\u{1}", "😀", "a/b", ",", "[", "]"]
        return (0..<Int.random(in: 1...4, using: &rng)).map { index in
            let id = (0..<Int.random(in: 1...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined() + "#\(index)"
            let value: Quantity? = Bool.random(using: &rng)
                ? nil : Quantity.parse("\(Bool.random(using: &rng) ? "-" : "")\(Int.random(in: 0...9_999_999, using: &rng)).\(Int.random(in: 0...999, using: &rng))")!
            return ReportedValue(reportID: id, revision: Int.random(in: 1...50, using: &rng),
                                 sequence: Int64.random(in: 1...Int64(1) << 50, using: &rng), value: value)
        }
    }

    /// The same text as jsonb's output: a space after every comma between values.
    static func asPostgresPrintsIt(_ reports: [ReportedValue]) throws -> String {
        let entries: [[Any]] = reports.map { [$0.reportID, $0.revision, $0.sequence, $0.value.map { $0.description } ?? NSNull()] }
        let compact = String(decoding: try JSONSerialization.data(withJSONObject: entries, options: [.withoutEscapingSlashes]), as: UTF8.self)
        // Commas inside strings are escaped by nothing, so re-space only between values.
        var out = "", inString = false, escaped = false
        for character in compact {
            out.append(character)
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == "," {
                out.append(" ")
            }
        }
        return out
    }

    @Test("what json writes, parse reads back, sorted by report id")
    func roundTrip() throws {
        var rng = SeededGenerator(seed: 411)
        for _ in 0..<500 {
            let reports = Self.randomReports(&rng)
            let text = try #require(ReportsColumn.json(reports))
            #expect(try ReportsColumn.parse(text) == reports.sorted { $0.reportID < $1.reportID }, "\(text)")
        }
        #expect(ReportsColumn.json([]) == nil)
    }

    @Test("jsonb's printed form gives what JSONSerialization reads from it")
    func postgresText() throws {
        var rng = SeededGenerator(seed: 2025)
        for _ in 0..<500 {
            let reports = Self.randomReports(&rng)
            let text = try Self.asPostgresPrintsIt(reports)
            let general = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[Any]])
            let expected = general.map { entry in
                ReportedValue(reportID: entry[0] as! String, revision: (entry[1] as! NSNumber).intValue, sequence: (entry[2] as! NSNumber).int64Value,
                              value: (entry[3] as? String).flatMap { Quantity.parse($0) })
            }.sorted { $0.reportID < $1.reportID }
            #expect(try ReportsColumn.parse(text) == expected, "\(text)")
        }
        #expect(try ReportsColumn.parse(#"[["r-2", 1, 9, null], ["r-1", 2, 17, "4254.50"]]"#) == [
            ReportedValue(reportID: "r-1", revision: 2, sequence: 17, value: Quantity.parse("4254.5")),
            ReportedValue(reportID: "r-2", revision: 1, sequence: 9, value: nil),
        ])
        #expect(try ReportsColumn.parse("[]").isEmpty)
    }

    @Test("anything but [[id, revision, sequence, value], …] is refused with where and why")
    func malformed() {
        let cases: [(text: String, reason: String)] = [
            (#"[["r", 1, 2]]"#, "no value"),
            (#"[["r", 1, 2, null, 5]]"#, "more than four fields"),
            (#"[["r", 1, 2, "many"]]"#, "not a number"),
            (#"[["r", "1", 2, null]]"#, "expected a number"),
            (#"[["r", 1.5, 2, null]]"#, "not a plain integer"),
            (#"[[]]"#, "empty"),
            (#"{"r": 1}"#, "expected '['"),
            (#"[["r", 1, 2, null]] x"#, "text after the document"),
            (#"[["r", 1, 2, null]"#, "expected ',' or ']'"),
        ]
        for (text, reason) in cases {
            #expect {
                try ReportsColumn.parse(text)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
    }
}
