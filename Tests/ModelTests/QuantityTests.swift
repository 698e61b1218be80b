import DXModel
import Foundation
import Testing

/// `Quantity` against Foundation's `Decimal` as the reference for exactness.
@Suite("Quantity: exact fixed-point numbers")
struct QuantityTests {
    @Test("parses and prints canonically", arguments: [
        ("98.16", "98.16"), ("12002", "12002"), ("-0.5", "-0.5"), ("1e3", "1000"), ("0.1", "0.1"), ("2.50", "2.5"),
        ("0", "0"), ("-0", "0"), ("000123", "123"), ("1.000000000001", "1.000000000001"), ("2.5E-2", "0.025"), ("+7", "7"),
        ("35.4440926512", "35.4440926512"), ("99999999999999999999999999", "99999999999999999999999999"),
        // Either side of 2^64 × 10^-12, where printing leaves 64-bit arithmetic.
        ("18446744.073709551615", "18446744.073709551615"), ("18446744.073709551616", "18446744.073709551616"),
        ("-18446744.073709551616", "-18446744.073709551616"), ("0.000000000001", "0.000000000001"),
        ("-99999999999999999999999999.999999999999", "-99999999999999999999999999.999999999999"), ("10.05", "10.05"),
    ])
    func roundTrip(text: String, canonical: String) throws {
        let value = try #require(Quantity.parse(text))
        #expect(value.description == canonical)
        #expect(Quantity.parse(value.description) == value)
    }

    @Test("refuses what is not a plain number within range", arguments: [
        "", "NaN", "Infinity", "12abc", "1,5", "1.", ".", "--1", "1e", "0x10", " 1", "1.0000000000001", "1e-13",
        "100000000000000000000000000", "1e26", "e5", "-",
        String(repeating: "9", count: 60), "1" + String(repeating: "0", count: 45), "0." + String(repeating: "0", count: 45) + "1",
        "1." + String(repeating: "0", count: 40) + "1", "-" + String(repeating: "9", count: 39) + ".5",
    ])
    func refuses(text: String) {
        #expect(Quantity.parse(text) == nil)
    }

    @Test("arithmetic agrees with Decimal exactly on random values")
    func randomArithmetic() throws {
        var rng = SeededGenerator(seed: 42)
        func random() -> (Quantity, Decimal) {
            let integer = Int.random(in: -1_000_000_000...1_000_000_000, using: &rng)
            let digits = Int.random(in: 0...6, using: &rng)
            let fraction = Int.random(in: 0..<1_000_000, using: &rng) % Int(pow(10, Double(digits)))
            let text = digits == 0 ? "\(integer)" : "\(integer).\(String(repeating: "0", count: digits - String(fraction).count))\(fraction)"
            return (Quantity.parse(text)!, Decimal(string: text)!)
        }
        for _ in 0..<2000 {
            let (a, da) = random(), (b, db) = random()
            #expect((a + b).description == ExactDecimal.string(da + db))
            #expect((a - b).description == ExactDecimal.string(da - db))
            #expect((a < b) == (da < db))
            #expect((a == b) == (da == db))
            if !db.isZero {
                #expect(Quantity.divide(a, by: b).description == ExactDecimal.string(ExactDecimal.divide(da, by: db)), "\(a) / \(b)")
            }
            // Counts times rates: exact.
            let count = Quantity(Int.random(in: 0...10_000_000, using: &rng))
            let rate = Quantity.parse(String(format: "%.4f", Double.random(in: 0...100, using: &rng)))!
            #expect((count * rate).description == ExactDecimal.string(count.decimal * rate.decimal))
        }
    }

    @Test("quotients round half away from zero")
    func rounding() {
        #expect(Quantity.divide(1, by: 8, scale: 2).description == "0.13")
        #expect(Quantity.divide(-1, by: 8, scale: 2).description == "-0.13")
        #expect(Quantity.divide(2, by: 3).description == "0.6666666667")
        #expect(Quantity.divide(Quantity(4254) * 100, by: 12002).description == "35.4440926512")
        #expect(Quantity.parse("0.66665")!.rounded(scale: 4).description == "0.6667")
        #expect(Quantity.divide(5, by: 0) == .zero)
    }

    @Test("extreme quotients saturate instead of trapping")
    func saturation() {
        let huge = Quantity.parse("99999999999999999999999999")!
        let tiny = Quantity.parse("0.000000000001")!
        #expect(Quantity.divide(huge, by: tiny) > huge)
        #expect(huge * huge > huge)
    }

    @Test("Codable: JSON numbers and numeric strings, exactly")
    func codable() throws {
        struct Box: Codable { var v: Quantity }
        let decoded = try JSONDecoder().decode([Box].self, from: Data(#"[{"v": 98.16}, {"v": "12002"}, {"v": 1e3}]"#.utf8))
        #expect(decoded.map(\.v.description) == ["98.16", "12002", "1000"])
        let encoded = String(decoding: try JSONEncoder().encode(Box(v: Quantity.parse("35.4440926512")!)), as: UTF8.self)
        #expect(encoded == #"{"v":35.4440926512}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(#"{"v": 0.0000000000001}"#.utf8)) }
    }
}
