import DXModel
import Foundation
import Testing

/// The direct codecs of the hot messages against `JSONEncoder`/`JSONDecoder`: the same bytes out,
/// the same values in.
@Suite("Message JSON: direct codecs agree with JSONEncoder and JSONDecoder")
struct MessageJSONTests {
    struct Random {
        var rng: SeededGenerator

        mutating func bool() -> Bool { Bool.random(using: &rng) }

        mutating func text() -> String {
            let pieces = ["Đắk Lắk", "Xã Hướng Hiệp", "Huyện Đa Krông", "\"quoted\"", "back\\slash", "a/b", "tab\there", "line\nbreak",
                          "\r", "\u{0}", "\u{1}", "\u{8}", "\u{c}", "\u{1f}", "\u{7f}", "\u{2028}", "😀", "Thừa Thiên Huế", "", " ", "ả ã ạ ơ ư"]
            return (0..<Int.random(in: 0...4, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
        }

        mutating func quantity() -> Quantity {
            let integer = Int.random(in: 0...(bool() ? 1_000 : 9_999_999_999), using: &rng)
            let digits = Int.random(in: 0...12, using: &rng)
            var text = (bool() && bool() ? "-" : "") + String(integer)
            if digits > 0 {
                text += "." + String((0..<digits).map { _ in "0123456789".randomElement(using: &rng)! })
            }
            return Quantity.parse(text)!
        }

        mutating func optionalQuantity() -> Quantity? { bool() ? quantity() : nil }

        mutating func period() -> Period {
            [Period.year(2025), .quarter(2024, 3), .month(2026, 11), .year(2023)].randomElement(using: &rng)!
        }

        mutating func observationBatch() -> ObservationBatch {
            let report = bool()
            let observations = (0..<Int.random(in: 0...6, using: &rng)).map { _ -> Observation in
                let kind = Int.random(in: 0...3, using: &rng)
                return Observation(unit: UnitCode(text()), period: period(), element: text(),
                                   value: kind == 0 ? quantity() : nil, delta: kind == 1 ? quantity() : nil,
                                   withdrawn: kind == 2 ? bool() : nil)
            }
            return ObservationBatch(province: UnitCode(text()), origin: report ? .report : .events, reportID: report ? text() : nil,
                                    revision: report ? Int.random(in: 1...1_000_000, using: &rng) : nil,
                                    sequence: Int64.random(in: -5...Int64.max, using: &rng), observations: observations)
        }

        mutating func indicatorValueBatch() -> IndicatorValueBatch {
            let values = (0..<Int.random(in: 0...6, using: &rng)).map { _ -> IndicatorValueChange in
                let current = bool() ? IndicatorValue(value: quantity(), numerator: optionalQuantity(), denominator: optionalQuantity(),
                                                      completeness: quantity(), target: optionalQuantity(),
                                                      targetYear: bool() ? Int.random(in: -3...2030, using: &rng) : nil,
                                                      gap: optionalQuantity(), meetsTarget: bool() ? bool() : nil) : nil
                let previous = bool() ? IndicatorValue(value: quantity(), completeness: 1) : nil
                return IndicatorValueChange(unit: UnitCode(text()), unitName: text(), level: AdministrativeLevel.allCases.randomElement(using: &rng)!,
                                            period: period(), indicator: text(), current: current, previous: previous)
            }
            return IndicatorValueBatch(province: UnitCode(text()), values: values)
        }
    }

    /// Another spelling of what `MessageCoding.encoder()` writes: indented, keys unsorted.
    static func prettyEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted]
        return encoder
    }

    func expectSame<P: Equatable>(_ a: Envelope<P>, _ b: Envelope<P>) {
        #expect(a.schema == b.schema && a.id == b.id && a.producedAt == b.producedAt && a.source == b.source)
        #expect(a.data == b.data)
    }

    @Test("observation batches: the same bytes as JSONEncoder, read back as JSONDecoder reads them")
    func observationBatches() throws {
        var random = Random(rng: SeededGenerator(seed: 7))
        for _ in 0..<500 {
            let envelope = Envelope(schema: ObservationBatch.schema, source: random.text(), data: random.observationBatch())
            let reference = Array(try MessageCoding.encoder().encode(envelope))
            let direct = envelope.messageJSON()
            #expect(direct == reference, "\(String(decoding: direct, as: UTF8.self))\n\(String(decoding: reference, as: UTF8.self))")
            let decoded = try Envelope<ObservationBatch>(messageJSON: reference)
            expectSame(decoded, try JSONDecoder().decode(Envelope<ObservationBatch>.self, from: Data(reference)))
            #expect(decoded.data == envelope.data)
            #expect(try MessageCoding.encode(envelope) == reference)
        }
    }

    @Test("indicator value batches: the same bytes as JSONEncoder, read back as JSONDecoder reads them")
    func indicatorValueBatches() throws {
        var random = Random(rng: SeededGenerator(seed: 11))
        for _ in 0..<500 {
            let envelope = Envelope(schema: IndicatorValueBatch.schema, source: random.text(), data: random.indicatorValueBatch())
            let reference = Array(try MessageCoding.encoder().encode(envelope))
            let direct = envelope.messageJSON()
            #expect(direct == reference, "\(String(decoding: direct, as: UTF8.self))\n\(String(decoding: reference, as: UTF8.self))")
            let decoded = try Envelope<IndicatorValueBatch>(messageJSON: reference)
            expectSame(decoded, try JSONDecoder().decode(Envelope<IndicatorValueBatch>.self, from: Data(reference)))
            #expect(decoded.data == envelope.data)
            #expect(try MessageCoding.encode(envelope) == reference)
        }
    }

    @Test("other spellings of the same document: whitespace, key order, nulls, escapes, exponents, unknown keys")
    func otherSpellings() throws {
        var random = Random(rng: SeededGenerator(seed: 13))
        let pretty = Self.prettyEncoder()
        for _ in 0..<100 {
            let envelope = Envelope(schema: ObservationBatch.schema, source: random.text(), data: random.observationBatch())
            let bytes = Array(try pretty.encode(envelope))
            expectSame(try Envelope<ObservationBatch>(messageJSON: bytes), try JSONDecoder().decode(Envelope<ObservationBatch>.self, from: Data(bytes)))
            let values = Envelope(schema: IndicatorValueBatch.schema, source: random.text(), data: random.indicatorValueBatch())
            let valueBytes = Array(try pretty.encode(values))
            expectSame(try Envelope<IndicatorValueBatch>(messageJSON: valueBytes), try JSONDecoder().decode(Envelope<IndicatorValueBatch>.self, from: Data(valueBytes)))
        }
        let handWritten = #"""
         { "source" : "dx-ingest", "schema":"dx.observations.v1", "extra": {"a": [1, 2.5e-3, "x", null, true, {}]},
           "data": {"sequence": 42, "reportId": null, "province": "45", "origin": "events", "revision": null,
             "observations": [ {"unit": "X\u00e3 H\u01b0\u1edbng \"Hi\u1ec7p\" \/ \ud83d\ude00", "period": "2026-11", "element": "dossiers_received",
                                "delta": 1E0, "value": null, "withdrawn": null},
                               {"unit": "old-467", "period": "2023", "element": "households_total", "value": -12.50000, "delta": 0.000000000001e3} ] },
           "id": "3F2504E0-4F89-11D3-9A0C-0305E82C3301", "producedAt": "2026-11-22T10:28:00.123Z", "id": "not a uuid" }
        """#
        let bytes = Array(handWritten.utf8)
        let direct = try Envelope<ObservationBatch>(messageJSON: bytes)
        expectSame(direct, try JSONDecoder().decode(Envelope<ObservationBatch>.self, from: Data(bytes)))
        #expect(direct.data.observations.first?.unit == "Xã Hướng \"Hiệp\" / 😀")
        #expect(direct.data.observations.last?.value == Quantity.parse("-12.5"))
        #expect(direct.data.observations.last?.delta == Quantity.parse("0.000000001"))
    }

    @Test("what the direct reader refuses goes to JSONDecoder: same values for what it takes, its error for the rest")
    func fallback() throws {
        func document(_ observation: String, revision: String = "1") -> [UInt8] {
            Array(#"{"data":{"observations":[\#(observation)],"origin":"report","province":"45","reportId":"r","revision":\#(revision),"sequence":1},"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","producedAt":"x","schema":"dx.observations.v1","source":"s"}"#.utf8)
        }
        let unusual = [
            document(#"{"unit":"u","period":"2023","element":"e","value":"12.5"}"#),   // a numeric string, as Quantity's Codable takes
            document(#"{"unit":"u","period":"2023","element":"e","value":1}"#, revision: "1.0"),
            document(#"{"unit":"u","period":"2023","element":"e","value":1}"#, revision: "2e0"),
        ]
        for bytes in unusual {
            #expect(throws: MessageJSONError.self) { try Envelope<ObservationBatch>(messageJSON: bytes) }
            let reference = try JSONDecoder().decode(Envelope<ObservationBatch>.self, from: Data(bytes))
            expectSame(try MessageCoding.decode(Envelope<ObservationBatch>.self, from: bytes), reference)
        }
        let malformed = [
            document(#"{"unit":"u","period":"2023-13","element":"e","value":1}"#),
            document(#"{"unit":"u","period":"2023","element":"e","value":0.0000000000001}"#),
            document(#"{"unit":"u","period":"2023","element":"e","value":NaN}"#),
            document(#"{"unit":"u","period":"2023","value":1}"#),
            document(#"{"unit":"u","period":"2023","element":"e","value":1}"#) + Array(" x".utf8),
            Array(#"{"data":{}}"#.utf8),
            Array("[]".utf8),
        ]
        for bytes in malformed {
            #expect(throws: MessageJSONError.self) { try Envelope<ObservationBatch>(messageJSON: bytes) }
            #expect(throws: DecodingError.self) { try MessageCoding.decode(Envelope<ObservationBatch>.self, from: bytes) }
        }
    }

    @Test("envelope headers: read directly as JSONDecoder reads them, what the reader refuses still decided by JSONDecoder")
    func headers() throws {
        var random = Random(rng: SeededGenerator(seed: 17))
        let pretty = Self.prettyEncoder()
        for _ in 0..<200 {
            let envelope = Envelope(schema: random.text(), source: random.text(), data: random.observationBatch())
            for bytes in [envelope.messageJSON(), Array(try pretty.encode(envelope))] {
                let direct = try EnvelopeHeader(messageJSON: bytes)
                let reference = try JSONDecoder().decode(EnvelopeHeader.self, from: Data(bytes))
                #expect(direct.schema == reference.schema && direct.id == reference.id)
                #expect(direct.schema == envelope.schema && direct.id == envelope.id)
            }
        }
        // The first of duplicate keys, as JSONDecoder keeps; anything in the payload skipped.
        let duplicate = Array(#"{"data":{"x":[1,"a",{"b":null}]},"schema":"s1","id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","schema":"s2"}"#.utf8)
        #expect(try MessageCoding.decode(EnvelopeHeader.self, from: duplicate).schema == "s1")
        #expect(try JSONDecoder().decode(EnvelopeHeader.self, from: Data(duplicate)).schema == "s1")
        let malformed = [
            Array(#"{"schema":"s","id":"not a uuid"}"#.utf8),
            Array(#"{"schema":"s"}"#.utf8),
            Array(#"{"schema":"s","id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","data":[1,}"#.utf8),
            Array(#"{"schema":"s","id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"} x"#.utf8),
        ]
        for bytes in malformed {
            #expect(throws: MessageJSONError.self) { try EnvelopeHeader(messageJSON: bytes) }
            #expect(throws: DecodingError.self) { try MessageCoding.decode(EnvelopeHeader.self, from: bytes) }
        }
    }

    @Test("a message nested a million levels deep in a field the reader skips is refused, as JSONDecoder refuses it, without overflowing the stack")
    func deepNesting() {
        let deep = String(repeating: "[", count: 1_000_000) + String(repeating: "]", count: 1_000_000)
        let documents = [
            Array(#"{"extra":\#(deep),"schema":"dx.observations.v1","id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"}"#.utf8),
            Array(#"{"data":{"observations":[],"origin":"report","province":"45","sequence":1,"extra":\#(deep)},"id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301","producedAt":"x","schema":"dx.observations.v1","source":"s"}"#.utf8),
        ]
        for bytes in documents {
            #expect(throws: MessageJSONError.self) { try EnvelopeHeader(messageJSON: bytes) }
            #expect(throws: MessageJSONError.self) { try Envelope<ObservationBatch>(messageJSON: bytes) }
            #expect(throws: DecodingError.self) { try MessageCoding.decode(EnvelopeHeader.self, from: bytes) }
            #expect(throws: DecodingError.self) { try MessageCoding.decode(Envelope<ObservationBatch>.self, from: bytes) }
        }
    }
}
