import Foundation

/// The hot messages (observations into the engine, indicator values out of it) are written and
/// read without `JSONEncoder`/`JSONDecoder`: those go through `Decimal` for every number, which
/// costs microseconds on Linux. The bytes written are exactly what `MessageCoding.encoder()` gives
/// (sorted keys, absent optionals left out, numbers as JSON numbers, strings escaped the same
/// way); the reader takes what `JSONDecoder` takes and gives the same values, and refuses
/// anything unusual so that `MessageCoding.decode` can hand it to `JSONDecoder`.
public protocol MessageJSONPayload: Codable, Sendable {
    /// Writes the payload as the JSON object `MessageCoding.encoder()` would.
    func writeJSON(to writer: inout MessageJSONWriter)
    /// Reads the payload's object; throws where it is not what the direct reader takes.
    static func readJSON(from reader: inout MessageJSONReader) throws(MessageJSONError) -> Self
}

/// A message type the direct reader takes (see `MessageCoding.decode`).
protocol MessageJSONDecodable {
    init(messageJSON bytes: [UInt8]) throws(MessageJSONError)
}

/// An envelope whose payload has a direct codec (see `MessageCoding.encode`/`decode`).
protocol MessageJSONEnvelope: MessageJSONDecodable {
    func messageJSON() -> [UInt8]
}

extension Envelope: MessageJSONDecodable, MessageJSONEnvelope where Payload: MessageJSONPayload {
    /// The bytes `MessageCoding.encoder()` gives for this envelope, written directly.
    public func messageJSON() -> [UInt8] {
        var writer = MessageJSONWriter()
        writer.beginObject()
        writer.key("data")
        data.writeJSON(to: &writer)
        writer.key("id")
        writer.string(id.uuidString.lowercased())
        writer.key("producedAt")
        writer.string(producedAt)
        writer.key("schema")
        writer.string(schema)
        writer.key("source")
        writer.string(source)
        writer.endObject()
        return writer.bytes
    }

    /// Reads an envelope as `JSONDecoder` would; throws `MessageJSONError` for anything the
    /// direct reader does not take (malformed or merely unusual: `MessageCoding.decode` then
    /// asks `JSONDecoder`, which decides and describes the fault).
    public init(messageJSON bytes: [UInt8]) throws(MessageJSONError) {
        self = try MessageJSONReader.read(bytes) { reader throws(MessageJSONError) in
            var schema: String?, id: UUID?, producedAt: String?, source: String?, data: Payload?
            var first = true
            while let key = try reader.nextKey(first: &first) {
                // JSONDecoder keeps the first of duplicate keys.
                switch key {
                case "schema" where schema == nil: schema = try reader.string()
                case "id" where id == nil: id = try reader.uuid()
                case "producedAt" where producedAt == nil: producedAt = try reader.string()
                case "source" where source == nil: source = try reader.string()
                case "data" where data == nil: data = try Payload.readJSON(from: &reader)
                default: try reader.skipValue()
                }
            }
            guard let schema, let id, let producedAt, let source, let data else { throw reader.error("an envelope field is missing") }
            return Envelope(schema: schema, id: id, producedAtText: producedAt, source: source, data: data)
        }
    }
}

/// Where and why the direct reader stopped.
public struct MessageJSONError: Error, CustomStringConvertible, Sendable {
    public var offset: Int
    public var reason: String
    public var description: String { "byte \(offset): \(reason)" }
}

/// Appends JSON to a byte array, escaping strings as `JSONEncoder` does with
/// `.withoutEscapingSlashes`: `\"`, `\\`, `\b \t \n \f \r`, other control characters as
/// `\u00xx` (lowercase hex), everything else as its UTF-8 bytes.
public struct MessageJSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next key or element is the first in its object or array.
    private var first = true

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    public mutating func beginArray() {
        bytes.append(UInt8(ascii: "["))
        first = true
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        first = false
    }

    /// Before an array element.
    public mutating func element() {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
    }

    /// `"name":`, after a comma unless it is the object's first key. Keys are plain ASCII.
    public mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// `"name":` for a key that is data (an element or indicator code), escaped as a string is.
    public mutating func key(text name: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A number as `JSONEncoder` writes the `Decimal` of the same value: the canonical text.
    public mutating func number(_ value: Quantity) {
        value.appendText(to: &bytes)
    }

    /// A number as an exact JSON string, `"98.16"`: what `string(value.description)` writes,
    /// without building the String (the engine writes several for every cell of a row).
    public mutating func string(_ value: Quantity) {
        bytes.append(UInt8(ascii: "\""))
        value.appendText(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func number(_ value: some BinaryInteger) {
        if let small = UInt64(exactly: value) {
            bytes.appendDecimal(small)
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
    }

    // Literals appended from static text: `Array("true".utf8)` allocated an array for every
    // indicator value the engine wrote.
    public mutating func bool(_ value: Bool) {
        literal(value ? "true" : "false")
    }

    public mutating func null() {
        literal("null")
    }

    private mutating func literal(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func key(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    /// A period needs no escaping: its bytes go straight in.
    public mutating func key(_ name: StaticString, _ period: Period) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        period.appendText(to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func key(_ name: StaticString, ifPresent value: String?) {
        guard let value else { return }
        key(name, value)
    }

    public mutating func key(_ name: StaticString, ifPresent value: Quantity?) {
        guard let value else { return }
        key(name)
        number(value)
    }

    public mutating func key<I: BinaryInteger>(_ name: StaticString, ifPresent value: I?) {
        guard let value else { return }
        key(name)
        number(value)
    }

    public mutating func key(_ name: StaticString, ifPresent value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }
}

/// A strict RFC 8259 reader over bytes that pulls the values a message's fields expect.
public struct MessageJSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// A whole document: `body` reads its value, and nothing but whitespace may follow.
    static func read<Value>(_ document: [UInt8], _ body: (inout MessageJSONReader) throws(MessageJSONError) -> Value) throws(MessageJSONError) -> Value {
        let result = document.withUnsafeBufferPointer { buffer -> Result<Value, MessageJSONError> in
            var reader = MessageJSONReader(buffer)
            do throws(MessageJSONError) {
                let value = try body(&reader)
                try reader.end()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// A string that is a UUID, as `JSONDecoder` reads a `UUID`.
    mutating func uuid() throws(MessageJSONError) -> UUID {
        let text = try string()
        guard let uuid = UUID(uuidString: text) else { throw error("'\(text)' is not a UUID") }
        return uuid
    }

    func error(_ reason: String) -> MessageJSONError {
        MessageJSONError(offset: index, reason: reason)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) throws(MessageJSONError) {
        skipWhitespace()
        guard current == byte else { throw error("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Only whitespace may follow the document.
    mutating func end() throws(MessageJSONError) {
        skipWhitespace()
        guard index == bytes.count else { throw error("text after the document") }
    }

    /// The next key of an object (reading its opening brace first when `first`), positioned at
    /// its value; nil after the closing brace.
    public mutating func nextKey(first: inout Bool) throws(MessageJSONError) -> String? {
        if first {
            try expect(UInt8(ascii: "{"))
            first = false
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return nil
            }
        } else {
            skipWhitespace()
            switch current {
            case UInt8(ascii: "}"):
                index += 1
                return nil
            case UInt8(ascii: ","): index += 1
            default: throw error("expected ',' or '}'")
            }
        }
        let key = try string()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Whether another element of an array follows (reading its opening bracket first when
    /// `first`), positioned at it.
    public mutating func nextElement(first: inout Bool) throws(MessageJSONError) -> Bool {
        if first {
            try expect(UInt8(ascii: "["))
            first = false
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return false
            }
            return true
        }
        skipWhitespace()
        switch current {
        case UInt8(ascii: "]"):
            index += 1
            return false
        case UInt8(ascii: ","):
            index += 1
            return true
        default: throw error("expected ',' or ']'")
        }
    }

    /// Consumes `null` if that is the next value.
    public mutating func null() -> Bool {
        skipWhitespace()
        guard bytes.count - index >= 4, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
              bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l") else { return false }
        index += 4
        return true
    }

    public mutating func bool() throws(MessageJSONError) -> Bool {
        skipWhitespace()
        if bytes.count - index >= 4, bytes[index] == UInt8(ascii: "t"), bytes[index + 1] == UInt8(ascii: "r"),
           bytes[index + 2] == UInt8(ascii: "u"), bytes[index + 3] == UInt8(ascii: "e") {
            index += 4
            return true
        }
        if bytes.count - index >= 5, bytes[index] == UInt8(ascii: "f"), bytes[index + 1] == UInt8(ascii: "a"),
           bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "s"), bytes[index + 4] == UInt8(ascii: "e") {
            index += 5
            return false
        }
        throw error("expected true or false")
    }

    public mutating func string() throws(MessageJSONError) -> String {
        skipWhitespace()
        guard current == UInt8(ascii: "\"") else { throw error("expected a string") }
        index += 1
        let start = index
        // Fast path: no escapes.
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let utf8 = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII is valid UTF-8 as it is: decoded without the generic validation, whose
                // metadata lookups were 2-3% of dx-indicators' CPU (codes and report ids).
                if ascii { return String(decoding: utf8, as: UTF8.self) }
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    index -= 1
                    throw error("a string is not valid UTF-8")
                }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw error("a control character in a string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard let byte = current else { throw error("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                guard let escape = current else { throw error("unterminated string") }
                index += 1
                if let byte = JSONEscape.simple(escape) {
                    utf8.append(byte)
                    continue
                }
                guard escape == UInt8(ascii: "u") else { throw error("an unknown escape") }
                do {
                    index = try JSONEscape.unicode(in: bytes, at: index, into: &utf8)
                } catch {
                    switch error.kind {
                    case .badHex: throw self.error("a bad \\u escape")
                    case .loneSurrogate: throw self.error("a lone surrogate")
                    case .notAScalar: throw self.error("not a Unicode scalar")
                    }
                }
            default:
                guard byte >= 0x20 else { throw error("a control character in a string") }
                utf8.append(byte)
            }
        }
    }

    /// The bytes of a number per RFC 8259, and whether it is a plain integer.
    private mutating func numberLiteral() throws(MessageJSONError) -> (range: Range<Int>, integer: Bool) {
        skipWhitespace()
        let start = index
        func digit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        if current == UInt8(ascii: "-") { index += 1 }
        guard digit(current) else { throw error("expected a number") }
        if current == UInt8(ascii: "0") {
            index += 1
        } else {
            while digit(current) { index += 1 }
        }
        var integer = true
        if current == UInt8(ascii: ".") {
            integer = false
            index += 1
            guard digit(current) else { throw error("expected a digit after the point") }
            while digit(current) { index += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            integer = false
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digit(current) else { throw error("expected a digit in the exponent") }
            while digit(current) { index += 1 }
        }
        return (start..<index, integer)
    }

    /// A number written as an exact JSON string, `"98.16"`: what `MessageJSONWriter.string(_:)`
    /// writes for a `Quantity`.
    public mutating func quantityString() throws(MessageJSONError) -> Quantity {
        let text = try string()
        guard let value = Quantity.parse(text) else { throw error("'\(text)' is not a number") }
        return value
    }

    /// A number, exactly, from its literal text.
    public mutating func quantity() throws(MessageJSONError) -> Quantity {
        let (range, _) = try numberLiteral()
        guard let value = Quantity.parse(utf8: UnsafeBufferPointer(rebasing: bytes[range])) else {
            throw error("\(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)) has more than 12 decimals or is too large")
        }
        return value
    }

    /// A number written as a plain integer (JSONDecoder also takes `1.0` or `1e2`: those are
    /// left to it).
    public mutating func integer<I: FixedWidthInteger>(_ type: I.Type = I.self) throws(MessageJSONError) -> I {
        let (range, integer) = try numberLiteral()
        guard integer else { throw error("not a plain integer") }
        var value: I = 0
        var position = range.lowerBound
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        while position < range.upperBound {
            let digit = I(bytes[position] - 0x30)
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1 && !overflow2 else { throw error("an integer out of range") }
            value = next
            position += 1
        }
        return value
    }

    /// How deep `skipValue` follows nested arrays and objects below the value it skips
    /// (`JSONDecoder`'s limit for a whole document). Deeper,
    /// the reader refuses the document (and `MessageCoding.decode` hands it to `JSONDecoder`,
    /// which refuses it too), where following every level would overflow the stack: a message of
    /// a million `[` would crash the consumer, and again after each restart.
    static let maximumDepth = 512

    /// Skips any value (a field the reader does not know).
    public mutating func skipValue() throws(MessageJSONError) {
        try skipValue(depth: 0)
    }

    private mutating func skipValue(depth: Int) throws(MessageJSONError) {
        skipWhitespace()
        switch current {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
            var first = true
            if current == UInt8(ascii: "{") {
                while try nextKey(first: &first) != nil { try skipValue(depth: depth + 1) }
            } else {
                while try nextElement(first: &first) { try skipValue(depth: depth + 1) }
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try bool()
        case UInt8(ascii: "n"):
            guard null() else { throw error("expected null") }
        default: _ = try numberLiteral()
        }
    }
}
