import DXModel
import Foundation
@testable import Ingestion
import Testing

/// The pure pieces of dx-ingest's request handling: JSON, timestamps, the rate limiter.
@Suite("Ingestion parsing: JSON, RFC 3339 timestamps, rate limiter")
struct IngestionParsingTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("JSON numbers are read exactly, without binary floating point")
    func exactNumbers() throws {
        let cases: [(String, String)] = [
            ("0.1", "0.1"), ("98.16", "98.16"), ("-0", "0"), ("1e2", "100"), ("12002", "12002"), ("1.50", "1.5"),
            ("123456789012345678901234567890", "123456789012345678901234567890"), ("0.000123", "0.000123"), ("-7.25E-1", "-0.725"),
        ]
        for (text, expected) in cases {
            guard case .array(let items) = try parse("[\(text)]"), case .number(let value)? = items.first else {
                Issue.record("\(text) is not a number")
                continue
            }
            #expect(ExactDecimal.string(value.decimal) == expected, "\(text)")
            // Within 12 decimals and below 10^26, the same number as the engine's Quantity.
            if let quantity = Quantity.parse(expected) { #expect(value.quantity == quantity, "\(text)") } else { #expect(value.quantity == nil, "\(text)") }
        }
        if case .array(let values) = try parse("[1e999999, 1234567890123456789012345678901234567890123]") {
            for value in values {
                if case .number(let number) = value {
                    #expect(number.decimal.isNaN, "unrepresentable numbers become NaN, refused later")
                    #expect(number.quantity == nil)
                }
            }
        }
    }

    @Test("JSON strings: escapes, surrogate pairs, Vietnamese text")
    func strings() throws {
        #expect(try parse(#"{"a":"Đắk Lắk \"x\" \\ \/ \n \u00e1 \ud83d\ude00"}"#)["a"] == .string("Đắk Lắk \"x\" \\ / \n á 😀"))
        #expect(try parse(#"{"a":{"b":[true,false,null]}}"#)["a"] == .object(["b": .array([.bool(true), .bool(false), .null])]))
    }

    @Test("malformed JSON: the line and column of the fault, never a crash")
    func syntaxErrors() {
        let cases: [(String, Int, Int, String)] = [
            ("{\n  \"a\": NaN\n}", 2, 8, "NaN and Infinity are not JSON numbers"),
            ("{\"a\": 1,}", 1, 9, "expected a member name"),
            ("[01]", 1, 2, "may not start with 0"),
            ("\"abc", 1, 1, "not closed"),
            ("[\"\u{1}\"]", 1, 3, "control character"),
            (#"["\ud800"]"#, 1, 9, "surrogate"),
            ("{} x", 1, 4, "unexpected text"),
            (String(repeating: "[", count: 10_000), 1, 65, "nested deeper than 64"),
            ("", 1, 1, "the end of the body"),
            ("tru", 1, 1, "expected true"),
        ]
        for (text, line, column, reason) in cases {
            do {
                _ = try JSONParser.parse(Array(text.utf8))
                Issue.record("\(text.prefix(20)) parsed")
            } catch {
                #expect(error.line == line && error.column == column && error.reason.contains(reason), "\(text.prefix(20)): \(error)")
            }
        }
    }

    @Test("an event line read straight from its bytes gives exactly the fields JSONParser reads, or is left to JSONParser")
    func plainEventLines() throws {
        func fields(_ text: String) -> (plain: EventFields?, parsed: EventFields?) {
            let bytes = Array(text.utf8)
            let parsed: EventFields?
            if case .object(let object)? = try? JSONParser.parse(bytes) { parsed = EventFields(object) } else { parsed = nil }
            return (EventFields(plainLine: bytes[...]), parsed)
        }
        // What clients send: read on the plain path, to the same fields.
        let plain = [
            #"{"channel":"online","eventId":"hcc-1","feeRequired":true,"kind":"dossier_received","occurredAt":"2026-03-05T09:12:00+07:00","unit":"24403"}"#,
            " { \"eventId\" : \"r-2\" ,\t\"kind\":\"dossier_resolved\", \"onTime\": false, \"unit\":\"VN\", \"occurredAt\":\"2026-03-05T02:12:00Z\" } ",
            #"{"kind":"fee_paid_online","kind":"dossier_received"}"#,
            "{}", "{ }", #"{"unit":""}"#, #"{"channel":"not a channel ~!"}"#, "{\"onTime\":true}\r",
        ]
        for line in plain {
            let (fast, parsed) = fields(line)
            #expect(fast != nil, "\(line) takes the plain path")
            #expect(fast == parsed, "\(line)")
        }
        #expect(fields(#"{"kind":"fee_paid_online","kind":"dossier_received"}"#).plain?[.kind] == .string("dossier_received"), "a repeated member: its last value")
        // Everything else is left to JSONParser, whatever it makes of it.
        let others = [
            #"{"eventId":"a\"b"}"#, #"{"unit":"Đắk Lắk"}"#, #"{"unit":24403}"#, #"{"unit":null}"#, #"{"note":"x"}"#, #"{"unit":{"a":1}}"#,
            #"{"unit":"x",}"#, #"{"unit" "x"}"#, #"{"onTime":tru}"#, #"{"onTime":truex}"#, #"{"unit":"x"} x"#, #"{"unit":"x""#, "{\"unit\":\"\u{1}\"}",
            "{\"unit\":\"\u{7F}\"}", #"[{"unit":"x"}]"#, #""unit""#, "", "{", #"{"unit":"x"}}"#, "{,}", #"{"unit":"x",,"kind":"y"}"#,
            // A name of an event field's length and first letter that is not one.
            #"{"eventID":"x"}"#, #"{"unix":"x"}"#, #"{"onTimE":true}"#, #"{"occurredAT":"x"}"#, #"{"feeRequirem":true}"#,
        ]
        for line in others {
            #expect(fields(line).plain == nil, "\(line) is left to JSONParser")
        }
        // Random lines built from the pieces of event lines: never a different reading.
        var generator = SeededGenerator(seed: 411)
        let pieces = ["{", "}", ",", ":", " ", "\t", #""eventId""#, #""kind""#, #""unit""#, #""onTime""#, #""channel""#, #""x-1""#, #""24403""#,
                      "true", "false", "null", "1", #""a\"b""#, #""""#, "tr", #""Hà""#]
        var agreed = 0
        for _ in 0..<20_000 {
            let count = Int.random(in: 1...12, using: &generator)
            var line = "{" + (0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined()
            if Bool.random(using: &generator) { line += "}" }
            let (fast, parsed) = fields(line)
            if let fast {
                #expect(fast == parsed, "\(line)")
                agreed += 1
            }
        }
        #expect(agreed > 0, "some random lines are plain")
    }

    @Test("RFC 3339 timestamps: offsets, fractions, leap seconds; the month in Vietnam")
    func timestamps() throws {
        let march = try #require(Timestamp.parse("2026-02-28T17:30:00Z"))
        #expect(march.vietnamDay == Day(year: 2026, month: 3, day: 1))
        #expect(Timestamp.parse("2026-03-01T00:30:00+07:00") == march)
        #expect(Timestamp.parse("2026-02-28t10:30:00-07:00") == march)
        #expect(Timestamp.parse("2026-03-31T16:59:59.9999999Z")?.microseconds == 999_999)
        #expect(Timestamp.parse("2026-03-31T16:59:59.5Z")?.rfc3339 == "2026-03-31T16:59:59.500000Z")
        #expect(Timestamp.parse("2016-12-31T23:59:60Z")?.rfc3339 == "2016-12-31T23:59:59.999999Z")
        #expect(Timestamp.parse("1969-12-31T23:59:59Z")?.rfc3339 == "1969-12-31T23:59:59.000000Z")
        for bad in ["2026-02-30T10:00:00Z", "2026-03-05", "2026-03-05T09:12:00", "2026-03-05T24:00:00Z", "2026-03-05T09:12:00+7:00",
                    "1899-12-31T00:00:00Z", "2026-03-05T09:12:00.Z", "2026-03-05T09:12:00Zjunk", "２０２６-03-05T09:12:00Z"] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
        #expect(Timestamp(Date(timeIntervalSince1970: 1_767_225_600.25)).rfc3339 == "2026-01-01T00:00:00.250000Z")
        // Any instant of the years the parser takes reads back from its text, and its day is the
        // calendar's (the formatter agrees on the date and time).
        var generator = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        for _ in 0..<10_000 {
            let instant = Timestamp(seconds: Int64.random(in: -2_208_988_800..<32_503_680_000, using: &generator),
                                    microseconds: Int.random(in: 0..<1_000_000, using: &generator))
            let text = instant.rfc3339
            #expect(Timestamp.parse(text) == instant, "\(text)")
            #expect(text.prefix(19) == formatter.string(from: Date(timeIntervalSince1970: TimeInterval(instant.seconds))).prefix(19), "\(text)")
        }
    }

    @Test("rate limiter: a burst, then one request per interval, per token; off at 0")
    func rateLimiter() {
        let limiter = RateLimiter(perMinute: 60, burst: 3)
        let a = UUID(), b = UUID()
        let t0 = ContinuousClock.now
        #expect((0..<3).map { _ in limiter.acquire(a, now: t0) } == [nil, nil, nil])
        #expect(limiter.acquire(a, now: t0) == 1)
        #expect(limiter.acquire(b, now: t0) == nil)
        #expect(limiter.acquire(a, now: t0 + .milliseconds(1_100)) == nil)
        #expect(limiter.acquire(a, now: t0 + .milliseconds(1_200)) == 1)
        let slow = RateLimiter(perMinute: 1, burst: 1)
        #expect(slow.acquire(a, now: t0) == nil)
        #expect(slow.acquire(a, now: t0 + .seconds(15)) == 45)
        let off = RateLimiter(perMinute: 0, burst: 1)
        #expect((0..<100).allSatisfy { _ in off.acquire(a, now: t0) == nil })
    }

    @Test("every problem of a row, from the catalog's rules")
    func allProblemsOfARow() {
        let catalog = TestDatabase.catalogFiles.catalog
        let validator = ReportValidator(catalog: catalog, scope: "VN", today: Day(year: 2026, month: 11, day: 22))
        let checked = validator.check([
            .init(line: 2, unit: "old-19555", period: "2027-05", element: "households_total", value: .text("-3.5")),
        ])
        #expect(checked.rows.isEmpty)
        // Per year, not per month; not started; the unit gone by then; negative.
        #expect(checked.errors.map(\.field) == ["period", "period", "unit", "value"], "\(checked.errors.map { "\($0.field): \($0.reason)" })")
        #expect(checked.errors.contains { $0.reason == "households_total is reported per year, not per month (period 2027-05)" })
        #expect(checked.errors.contains { $0.reason.contains("has not started yet") })
        #expect(checked.errors.contains { $0.reason == "a negative value (-3.5) cannot be a count or a rate" })
    }
    @Test("a report's content digest is the same in any order, and orders rows by the codes of unit, element and period")
    func contentDigestOrder() {
        let catalog = TestDatabase.catalogFiles.catalog
        let validator = ReportValidator(catalog: catalog, scope: "VN", today: Day(year: 2026, month: 11, day: 22))
        // Units and elements whose first appearance is not their code order.
        let units = ["old-19558", "old-19555", "old-467"]
        let elements = ["households_with_smartphone", "households_total", "households_with_fibre", "households_with_computer"]
        var raws: [ReportValidator.RawRow] = []
        for unit in units {
            for element in elements {
                for year in [2023, 2022] {
                    // Totals above their parts, so no numerator exceeds its denominator.
                    let value = element == "households_total" ? 1_000 + raws.count : raws.count
                    raws.append(.init(line: raws.count + 1, unit: unit, period: "\(year)", element: element, value: .text("\(value)")))
                }
            }
        }
        let checked = validator.check(raws)
        #expect(checked.errors.isEmpty, "\(checked.errors)")
        #expect(checked.rows.count == raws.count)
        let byCodes = checked.rows.indices.sorted {
            let (a, b) = (checked.rows[$0], checked.rows[$1])
            return (a.unit, a.element, a.period) < (b.unit, b.element, b.period)
        }
        #expect(checked.canonicalOrder == byCodes)
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20 {
            let shuffled = validator.check(raws.shuffled(using: &generator))
            #expect(shuffled.contentDigest == checked.contentDigest)
        }
        var changed = raws
        changed[2].value = .text("2000")
        #expect(validator.check(changed).contentDigest != checked.contentDigest)
    }
}
