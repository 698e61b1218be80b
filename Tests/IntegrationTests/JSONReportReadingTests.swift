import DXModel
import Foundation
@testable import Ingestion
import Testing

/// `JSONReportParser` reads a report's observations as the body streams by, without building a
/// `JSONValue` for each. What it gives must be what reading the whole body as a tree gave: the
/// same header, rows and defaults, the same problems.
@Suite("Reading a JSON report as it streams")
struct JSONReportReadingTests {
    /// dx-ingest's reading before it streamed, from the whole `JSONValue` tree: the reference for
    /// the observations. The header's members and an observation's value are read by the parser's
    /// own functions on both sides, which did not change.
    enum TreeReportParser {
        static func parse(_ body: [UInt8], partialByDefault: Bool = false) throws(Problem) -> (header: ReportHeader, rows: [ReportValidator.RawRow]) {
            let document: JSONValue
            do throws(JSONSyntaxError) {
                document = try JSONParser.parse(body)
            } catch {
                throw JSONReportParser.syntaxProblem(error)
            }
            guard case .object = document else { throw JSONReportParser.notAnObject(document) }
            var (header, errors) = JSONReportParser.header(of: document, partialByDefault: partialByDefault)
            guard case .array(let observations)? = document["observations"] else {
                errors.append(JSONReportParser.observationsMissing)
                throw Problem.invalid(errors, rows: 0)
            }
            if !errors.isEmpty { throw Problem.invalid(errors, rows: observations.count) }
            let rows = observations.enumerated().map { index, item -> ReportValidator.RawRow in
                guard case .object = item else { return JSONReportParser.shapeless(item, index: index) }
                return ReportValidator.RawRow(
                    line: index + 1,
                    unit: JSONReportParser.string(item["unit"]) ?? JSONReportParser.string(document["unit"]),
                    period: JSONReportParser.string(item["period"]) ?? JSONReportParser.string(document["period"]),
                    element: JSONReportParser.string(item["element"]),
                    value: JSONReportParser.rawValue(item["value"]),
                    observationIndex: index
                )
            }
            return (header, rows)
        }
    }

    /// Everything a reading gives, as text to compare: the header and each row's fields, or the problem.
    static func described(_ read: () throws(Problem) -> (header: ReportHeader, rows: [ReportValidator.RawRow])) -> String {
        do throws(Problem) {
            let (header, rows) = try read()
            let described = rows.map { row in
                "\(row.line) \(row.observationIndex ?? -1) \(row.unit ?? "-") \(row.period ?? "-") \(row.element ?? "-") \(row.value) \(row.shapeError.map { "\($0.field): \($0.reason)" } ?? "")"
            }
            return "\(header.reportID) \(header.revision) \(header.partial)\n" + described.joined(separator: "\n")
        } catch {
            return "\(error.status) \(error.detail) \(error.errors ?? [])"
        }
    }

    static func expectSameReading(_ body: String) {
        let bytes = Array(body.utf8)
        for partial in [false, true] {
            let streamed = described { () throws(Problem) in try JSONReportParser.parse(bytes, partialByDefault: partial) }
            let tree = described { () throws(Problem) in try TreeReportParser.parse(bytes, partialByDefault: partial) }
            #expect(streamed == tree, "\(body)")
        }
    }

    @Test("the rows, defaults and problems of chosen bodies are those of the whole tree")
    func chosenBodies() {
        let bodies = [
            #"{"reportId":"r-1","revision":1,"unit":"01","period":"2025","observations":[{"element":"a","value":1},{"unit":"02","element":"b","value":"NaN"}]}"#,
            // Defaults after the observations, and a unit that is no string.
            #"{"observations":[{"element":"a","value":1.5,"unit":7},{"period":"2025-01","value":null}],"reportId":"r","revision":2,"unit":"01","period":"2025"}"#,
            // A repeated observations member: the last counts, whatever the first was.
            #"{"reportId":"r","revision":1,"observations":[{"element":"a"}],"observations":[{"element":"b"},{"element":"c"}]}"#,
            #"{"reportId":"r","revision":1,"observations":[{"element":"a"}],"observations":7}"#,
            #"{"reportId":"r","revision":1,"observations":7,"observations":[{"element":"a"}]}"#,
            // Items that are no objects, members repeated and unknown, nested values read past.
            #"{"reportId":"r","revision":1,"observations":[1,"x",null,[1],{"element":"a","element":"b","note":{"x":[1,{"y":2}]},"value":true}]}"#,
            #"{"reportId":"r","revision":1,"observations":[{"value":"inf"},{"value":"12"},{"value":{}},{"value":[]},{"value":-0.0},{"value":1e400}]}"#,
            // Header faults.
            #"{"reportId":"bad id!","revision":0,"partial":"yes","unit":1,"period":[],"observations":[{}]}"#,
            #"{"reportId":"r","revision":1}"#, #"{"reportId":"r","revision":1,"observations":{}}"#,
            #"{"reportId":"r","revision":1,"partial":true,"observations":[]}"#, #"{"reportId":"r","revision":1,"partial":false,"observations":[{}]}"#,
            // Not objects, and broken JSON at every stage.
            "[]", "7", #""x""#, "", " ", "{", #"{"observations":[{"element":"a"}"#, #"{"observations":[{"element":"a"},]}"#,
            #"{"observations":[{"element" "a"}]}"#, #"{"reportId":"r"} x"#, #"{"observations":[NaN]}"#,
            "\u{FEFF}{\"reportId\":\"r\",\"revision\":1,\"observations\":[]}", "\u{FEFF}[]",
            #"{"reportId":"r","revision":1,"observations":[{"element":"a\u00e9\"b","unit":"Đắk Lắk"}]}"#,
            String(repeating: "[", count: 70), #"{"observations":["# + String(repeating: "[", count: 70),
            #"{"reportId":"r","revision":1,"observations":[{"note":"# + String(repeating: "[", count: 62) + String(repeating: "]", count: 62) + "}]}",
            #"{"reportId":"r","revision":1,"observations":[{"note":"# + String(repeating: "[", count: 61) + String(repeating: "]", count: 61) + "}]}",
        ]
        for body in bodies { Self.expectSameReading(body) }
    }

    @Test("random bodies made of a report's pieces read the same either way")
    func randomBodies() {
        var generator = SeededGenerator(seed: 2026)
        let members = [#""reportId":"r-1""#, #""revision":3"#, #""partial":true"#, #""unit":"01""#, #""period":"2025""#, #""unit":null"#,
                       #""reportId":5"#, #""note":[1,{"a":null}]"#, #""observations":null"#]
        let fields = [#""unit":"02""#, #""period":"2025-03""#, #""element":"e1""#, #""element":"e2""#, #""value":1"#, #""value":"-inf""#,
                      #""value":2.50"#, #""value":null"#, #""value":"x""#, #""unit":false"#, #""other":{"value":9}"#, #""period":null"#]
        for _ in 0..<3_000 {
            func observation() -> String {
                if Int.random(in: 0..<10, using: &generator) == 0 { return ["1", "null", #""o""#, "[]"].randomElement(using: &generator)! }
                return "{" + (0..<Int.random(in: 0...5, using: &generator)).map { _ in fields.randomElement(using: &generator)! }.joined(separator: ",") + "}"
            }
            var parts = (0..<Int.random(in: 0...5, using: &generator)).map { _ in members.randomElement(using: &generator)! }
            for _ in 0..<Int.random(in: 0...2, using: &generator) {
                let observations = "\"observations\":[" + (0..<Int.random(in: 0...6, using: &generator)).map { _ in observation() }.joined(separator: ",") + "]"
                parts.insert(observations, at: Int.random(in: 0...parts.count, using: &generator))
            }
            var body = "{" + parts.joined(separator: ",") + "}"
            if Int.random(in: 0..<20, using: &generator) == 0 { body.removeLast() }
            Self.expectSameReading(body)
        }
    }
}
