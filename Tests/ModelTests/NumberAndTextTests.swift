import DXModel
import Foundation
import Testing

@Suite("Exact numbers and CSV")
struct NumberAndTextTests {
    @Test("strict decimal parsing", arguments: [
        ("98.16", "98.16"), ("12002", "12002"), ("-0.5", "-0.5"), ("1e3", "1000"), ("0.1", "0.1"),
    ])
    func parses(text: String, canonical: String) throws {
        let value = try #require(ExactDecimal.parse(text))
        #expect(ExactDecimal.string(value) == canonical)
    }

    @Test("non-numbers are refused", arguments: ["", "NaN", "Infinity", "-Infinity", "12abc", "1,5", "1.", ".", "--1", "1e", "0x10", " 1"])
    func refuses(text: String) {
        #expect(ExactDecimal.parse(text) == nil)
    }

    @Test("quotients are exact to ten places, whatever the grouping")
    func division() throws {
        let value = ExactDecimal.divide(4254 * 100, by: 12002)
        #expect(ExactDecimal.string(value) == "35.4440926512")
        let a = try #require(ExactDecimal.parse("0.1")), b = try #require(ExactDecimal.parse("0.2"))
        #expect(a + b == ExactDecimal.parse("0.3"))
    }

    @Test("digits appended zero-padded, and filled into text laid out beforehand")
    func decimalText() {
        var bytes: [UInt8] = []
        bytes.appendDecimal(7, width: 2)
        bytes.appendDecimal(UInt64.max)
        #expect(String(decoding: bytes, as: UTF8.self) == "07" + String(UInt64.max))
        var laidOut = Array("2025-00-00T00:00".utf8)
        laidOut.withUnsafeMutableBufferPointer { text in
            text.setDecimal(3, width: 2, at: 5)
            text.setDecimal(31, width: 2, at: 8)
            text.setDecimal(9, width: 2, at: 11)
            text.setDecimal(0, width: 2, at: 14)
        }
        #expect(String(decoding: laidOut, as: UTF8.self) == "2025-03-31T09:00")
    }

    @Test("Vietnamese number format")
    func vietnamese() throws {
        #expect(VietnameseNumberFormat.format(Quantity.divide(425_400, by: 12002)) == "35,44")
        #expect(VietnameseNumberFormat.format(12002) == "12.002")
        #expect(VietnameseNumberFormat.format(1_700_000) == "1.700.000")
        #expect(VietnameseNumberFormat.format(80) == "80")
        #expect(VietnameseNumberFormat.formatEnglish(Quantity.parse("12002.5")!) == "12,002.5")
    }

    @Test("CSV with quotes, commas, CRLF, a BOM and Vietnamese text")
    func csv() throws {
        let text = "\u{FEFF}unit,name,note\r\n66,Tỉnh Đắk Lắk,\"a, b\"\r\n\r\n648,\"Huyện Cư M'gar\",\"say \"\"hi\"\"\nthere\"\n"
        let rows = try CSV.parse(text)
        #expect(rows.count == 3)
        #expect(rows[1].fields == ["66", "Tỉnh Đắk Lắk", "a, b"])
        #expect(rows[2].line == 4)
        #expect(rows[2].fields == ["648", "Huyện Cư M'gar", "say \"hi\"\nthere"])
    }

    @Test("CSV errors name the line")
    func csvErrors() {
        #expect(throws: CSV.ParseError(line: 2, reason: "a quoted field is not closed")) {
            try CSV.parse("a,b\n1,\"open\n")
        }
        #expect(throws: CSV.ParseError.self) { try CSV.parse("a,b\n1,x\"y\n") }
    }
}
