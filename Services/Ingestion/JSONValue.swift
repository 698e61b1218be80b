import DXModel
import Foundation

/// Any JSON value, numbers kept as exact decimals, so a request can be checked field by field
/// and every bad row reported instead of failing at the first one.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}

/// An object's members as given. A request's objects have a handful of members and are read by
/// a few fixed names, so a list searched from the end is cheaper than a dictionary built for
/// every row; a repeated name means its last value, as in most parsers.
struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    private var members: [(name: String, value: JSONValue)] = []

    init() {}

    init(dictionaryLiteral elements: (String, JSONValue)...) {
        for (name, value) in elements { append(name, value) }
    }

    mutating func append(_ name: String, _ value: JSONValue) {
        members.append((name, value))
    }

    subscript(name: String) -> JSONValue? {
        members.last { $0.name == name }?.value
    }

    /// Equal when every name means the same value in both.
    static func == (a: JSONObject, b: JSONObject) -> Bool {
        let names = Set(a.members.map(\.name))
        return names == Set(b.members.map(\.name)) && names.allSatisfy { a[$0] == b[$0] }
    }
}

/// A JSON number read exactly: as the engine's `Quantity` when it fits one (at most 12 digits
/// after the point, below 10²⁶), and as a `Decimal` to describe any other (NaN beyond Decimal).
struct JSONNumber: Sendable, Equatable {
    var quantity: Quantity?
    /// What was read, for `decimal`: building a `Decimal` for every number would cost more than
    /// the rest of the parse, and only a number that is no `Quantity` needs one.
    private var source: Source

    private enum Source: Sendable, Equatable {
        case parts(significand: UInt64, exponent: Int, negative: Bool)
        case text(String)
        case notANumber
    }

    init(quantity: Quantity?, significand: UInt64, exponent: Int, negative: Bool) {
        self.quantity = quantity
        // Beyond Decimal's exponent range: NaN, which the validators refuse as not finite.
        source = exponent >= -128 && exponent <= 127 || significand == 0
            ? .parts(significand: significand, exponent: significand == 0 ? 0 : exponent, negative: negative) : .notANumber
    }

    init(quantity: Quantity?, text: String) {
        self.quantity = quantity
        source = .text(text)
    }

    var decimal: Decimal {
        switch source {
        case .parts(let significand, let exponent, let negative):
            Decimal(sign: negative && significand != 0 ? .minus : .plus, exponent: exponent, significand: Decimal(significand))
        case .text(let text): ExactDecimal.parse(text) ?? .nan
        case .notANumber: .nan
        }
    }
}

/// Where and why a body is not JSON.
struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    /// 1-based line and column (in bytes) of the offending character.
    var line: Int
    var column: Int
    var reason: String
    var description: String { "line \(line), column \(column): \(reason)" }
}

/// A strict RFC 8259 parser straight into `JSONValue`. Faster than `JSONDecoder` into a
/// `Decodable` enum (which must try each type in turn), exact for numbers (no binary floating
/// point), bounded in depth (no stack overflow on `[[[[…`), and precise about where a body
/// breaks. NaN and Infinity are not JSON and are refused here like any other bad token.
struct JSONParser {
    static let maximumDepth = 64

    /// A slice, so one line of an NDJSON body is read in place; positions are the slice's.
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    private init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        index = bytes.startIndex
    }

    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try parse(bytes[...])
    }

    /// Lines and columns of errors count from the start of the slice.
    static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(starting: bytes)
        let value = try parser.value(depth: 0)
        try parser.finish()
        return value
    }

    /// At the first value: past leading whitespace and a UTF-8 byte order mark.
    private init(starting bytes: ArraySlice<UInt8>) {
        self.init(bytes)
        skipWhitespace()
        if index == bytes.startIndex, bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            index = bytes.startIndex + 3
            skipWhitespace()
        }
    }

    /// Nothing but whitespace may follow the value.
    private mutating func finish() throws(JSONSyntaxError) {
        skipWhitespace()
        guard index == bytes.endIndex else { throw error("unexpected text after the JSON value") }
    }

    private func error(_ reason: String, at position: Int? = nil) -> JSONSyntaxError {
        let end = min(position ?? index, bytes.endIndex)
        var line = 1, lineStart = bytes.startIndex
        for i in bytes.startIndex..<end where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return JSONSyntaxError(line: line, column: end - lineStart + 1, reason: reason)
    }

    private var current: UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while index < bytes.endIndex {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func describeCurrent() -> String {
        guard let byte = current else { return "the end of the body" }
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        guard let byte = current else { throw error("expected a value, found the end of the body") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw error("\(describeCurrent()) starts no JSON value (NaN and Infinity are not JSON numbers)")
        default:
            throw error("expected a value, found \(describeCurrent())")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        let matches = index + count <= bytes.endIndex && word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw error("expected \(word), found \(describeCurrent())") }
        index += count
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        var object = JSONObject()
        try members { (name, parser) throws(JSONSyntaxError) in object.append(name, try parser.value(depth: depth + 1)) }
        return .object(object)
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        var values: [JSONValue] = []
        try elements { (parser) throws(JSONSyntaxError) in values.append(try parser.value(depth: depth + 1)) }
        return .array(values)
    }

    /// The members of the object here, each name given to `member` with the parser at its value,
    /// which `member` must read.
    private mutating func members(_ member: (String, inout JSONParser) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a member name in double quotes, found \(describeCurrent())") }
            let name = try string()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the member name, found \(describeCurrent())") }
            index += 1
            skipWhitespace()
            try member(name, &self)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw error("expected ',' or '}' in an object, found \(describeCurrent())")
            }
        }
    }

    /// The elements of the array here, `element` called with the parser at each, which it must read.
    private mutating func elements(_ element: (inout JSONParser) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        index += 1
        skipWhitespace()
        if current == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw error("expected ',' or ']' in an array, found \(describeCurrent())")
            }
        }
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        let start = index
        index += 1
        // Fast path: no escapes.
        var end = index
        while end < bytes.endIndex {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[index..<end], as: UTF8.self)
                index = end + 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            end += 1
        }
        var out: [UInt8] = Array(bytes[index..<end])
        index = end
        while true {
            guard let byte = current else { throw error("a string is not closed", at: start) }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = current else { throw error("a string is not closed", at: start) }
                index += 1
                if let byte = JSONEscape.simple(escape) {
                    out.append(byte)
                    continue
                }
                guard escape == UInt8(ascii: "u") else {
                    throw error("'\\\(Character(Unicode.Scalar(escape)))' is not a JSON escape", at: index - 2)
                }
                do {
                    index = try JSONEscape.unicode(in: bytes, at: index, into: &out)
                } catch {
                    switch error.kind {
                    case .badHex: throw self.error("\\u needs four hex digits", at: error.index)
                    case .loneSurrogate: throw self.error("a \\u escape is half of a surrogate pair without its other half", at: error.index)
                    case .notAScalar: throw self.error("\\u escape is not a character", at: error.index)
                    }
                }
            case 0..<0x20:
                throw error("a control character (0x\(String(byte, radix: 16))) inside a string must be escaped")
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    /// RFC 8259 number grammar, read exactly. A number with more than 38 significant digits or
    /// an exponent beyond Decimal's range becomes NaN, which the validators refuse as not finite.
    private mutating func number() throws(JSONSyntaxError) -> JSONNumber {
        let start = index
        var negative = false
        if current == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var significand: UInt64 = 0
        var digits = 0
        var exponent = 0
        var overflow = false
        func isDigit(_ byte: UInt8?) -> Bool { byte.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
        guard isDigit(current) else { throw error("expected a digit in a number, found \(describeCurrent())") }
        if current == UInt8(ascii: "0") {
            index += 1
            if isDigit(current) { throw error("a number may not start with 0 followed by digits", at: start) }
        } else {
            while let byte = current, isDigit(byte) {
                if significand <= (UInt64.max - 9) / 10, digits < 19 {
                    significand = significand * 10 + UInt64(byte - 0x30)
                    if significand > 0 { digits += 1 }
                } else {
                    overflow = true
                }
                index += 1
            }
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard isDigit(current) else { throw error("expected a digit after the decimal point, found \(describeCurrent())") }
            while let byte = current, isDigit(byte) {
                if significand <= (UInt64.max - 9) / 10, digits < 19 {
                    significand = significand * 10 + UInt64(byte - 0x30)
                    if significand > 0 { digits += 1 }
                    exponent -= 1
                } else {
                    overflow = true
                }
                index += 1
            }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            var exponentNegative = false
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") {
                exponentNegative = current == UInt8(ascii: "-")
                index += 1
            }
            guard isDigit(current) else { throw error("expected a digit in the exponent, found \(describeCurrent())") }
            var value = 0
            while let byte = current, isDigit(byte) {
                if value < 100_000 { value = value * 10 + Int(byte - 0x30) }
                index += 1
            }
            exponent += exponentNegative ? -value : value
        }
        if overflow {
            // More digits than the fast path holds: let the exact parsers decide.
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            return JSONNumber(quantity: Quantity.parse(text), text: text)
        }
        return JSONNumber(quantity: Quantity(significand: significand, exponent: exponent, negative: negative),
                          significand: significand, exponent: exponent, negative: negative)
    }
}

/// Reading a large array without building it: a report's thousands of observations are read
/// member by member into the report's rows, where a `JSONValue` per observation (an object, its
/// member list, a name per member) cost as much again as reading the bytes.
extension JSONParser {
    static let streamedElementDepth = 2

    /// Reads a top-level object whose member `streamed`, when it is an array, has each element
    /// handed to `element` (with its index) instead of being kept; the other members are kept.
    /// `restart` is called when `streamed` comes again, since the last of a repeated name counts.
    /// A body that is not an object comes back as parsed, for the caller to refuse.
    /// The elements are at depth `streamedElementDepth` (the object is at 0, the array at 1).
    static func parseObject(
        _ bytes: [UInt8], streaming streamed: String, restart: () -> Void,
        element: (inout JSONParser, Int) throws(JSONSyntaxError) -> Void
    ) throws(JSONSyntaxError) -> (object: JSONValue, streamedArray: Bool) {
        var parser = JSONParser(starting: bytes[...])
        guard parser.current == UInt8(ascii: "{") else {
            let value = try parser.value(depth: 0)
            try parser.finish()
            return (value, false)
        }
        var members = JSONObject()
        var streamedArray = false
        var seen = false
        try parser.members { (name, parser) throws(JSONSyntaxError) in
            guard name == streamed, parser.current == UInt8(ascii: "[") else {
                if name == streamed { streamedArray = false }
                members.append(name, try parser.value(depth: 1))
                return
            }
            if seen { restart() }
            seen = true
            streamedArray = true
            var index = 0
            try parser.elements { (parser) throws(JSONSyntaxError) in
                try element(&parser, index)
                index += 1
            }
        }
        try parser.finish()
        return (.object(members), streamedArray)
    }

    /// Reads the value here at `depth`. For an object, sets `values[i]` to the value of the
    /// member `names[i]` (the last one, if repeated; nil if absent), reads past the other
    /// members without keeping them, and returns nil; any other value is returned.
    mutating func selectedMembers(_ names: [String], into values: inout [JSONValue?], depth: Int) throws(JSONSyntaxError) -> JSONValue? {
        guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
        guard current == UInt8(ascii: "{") else { return try value(depth: depth) }
        for i in values.indices { values[i] = nil }
        try members { (name, parser) throws(JSONSyntaxError) in
            let value = try parser.value(depth: depth + 1)
            if let i = names.firstIndex(of: name) { values[i] = value }
        }
        return nil
    }
}
