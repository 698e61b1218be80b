/// The escapes of a JSON string (RFC 8259 §7), decoded once for both readers that need them:
/// dx-ingest's strict request parser and the message reader. Each reader keeps its own error
/// wording; this says only what went wrong.
public enum JSONEscape {
    public struct Failure: Error, Sendable {
        public enum Kind: Sendable {
            /// Fewer than four hex digits after `\u`.
            case badHex
            /// Half of a surrogate pair without its other half.
            case loneSurrogate
            /// Four hex digits that name no Unicode scalar.
            case notAScalar
        }
        public var kind: Kind
        /// Where in the bytes it went wrong.
        public var index: Int
    }

    /// The byte a one-letter escape stands for (`n` → 0x0A), nil for `u` and for any letter
    /// that is no escape.
    public static func simple(_ letter: UInt8) -> UInt8? {
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): letter
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
    }

    /// Decodes the `\u` escape whose four hex digits start at `index` (and its low half when it
    /// is the high half of a surrogate pair), appends the character's UTF-8 to `out`, and
    /// returns the index after the escape.
    public static func unicode<Bytes: RandomAccessCollection<UInt8>>(in bytes: Bytes, at index: Int, into out: inout [UInt8]) throws(Failure) -> Int
    where Bytes.Index == Int {
        var next = index
        var scalar = try hex4(bytes, &next)
        if (0xD800..<0xDC00).contains(scalar) {
            guard next + 1 < bytes.endIndex, bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u") else {
                throw Failure(kind: .loneSurrogate, index: next)
            }
            next += 2
            let low = try hex4(bytes, &next)
            guard (0xDC00..<0xE000).contains(low) else { throw Failure(kind: .loneSurrogate, index: next) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw Failure(kind: .loneSurrogate, index: next)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw Failure(kind: .notAScalar, index: next) }
        UTF8.encode(unicode) { out.append($0) }
        return next
    }

    private static func hex4<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ index: inout Int) throws(Failure) -> UInt32 where Bytes.Index == Int {
        guard bytes.endIndex - index >= 4 else { throw Failure(kind: .badHex, index: index) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw Failure(kind: .badHex, index: index)
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }
}
