import Foundation

/// An exact decimal number for counts and rates: an `Int128` count of 10⁻¹² units. Foundation's
/// `Decimal` is exact too but costs microseconds per addition and tens of microseconds to print
/// on Linux, which the engine does millions of times; this costs nanoseconds.
///
/// Up to 12 digits after the point and magnitudes below 10²⁶: inputs are checked against both
/// (`parse` refuses more), so sums of realistic figures never come near the limit. Quotients
/// are rounded half away from zero to `ExactDecimal.quotientScale` digits.
public struct Quantity: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// The value × 10¹², kept as two words: an `Int128` is aligned to 16 bytes, which padded an
    /// optional quantity to 32 and a cell's or an indicator value's state by a quarter, and the
    /// engine moves millions of them.
    private let low: UInt64
    private let high: Int64

    /// The value × 10¹².
    @inline(__always)
    public var raw: Int128 { Int128(high) << 64 | Int128(low) }

    public static let scale = 12
    static let one: Int128 = 1_000_000_000_000
    /// Largest magnitude `parse` accepts: 10²⁶.
    static let limit: Int128 = 100_000_000_000_000_000_000_000_000 * one

    public static let zero = Quantity(raw: 0)

    @inline(__always)
    public init(raw: Int128) {
        low = UInt64(truncatingIfNeeded: raw)
        high = Int64(truncatingIfNeeded: raw >> 64)
    }

    public init(_ value: Int) {
        self.init(raw: Int128(value) * Self.one)
    }

    public init(integerLiteral value: Int) {
        self.init(value)
    }

    /// Parses `-12`, `98.16`, `1e3`, `2.5E-2`: at most 12 digits after the point, below 10²⁶.
    /// Refuses trailing text, commas, NaN and Infinity. One pass over the bytes, no allocation.
    public static func parse(_ text: some StringProtocol) -> Quantity? {
        parse(utf8: text.utf8)
    }

    /// `parse` over UTF-8 bytes, e.g. a number's literal inside a JSON message.
    public static func parse<Bytes: Sequence<UInt8>>(utf8 bytes: Bytes) -> Quantity? {
        var utf8 = bytes.makeIterator()
        var byte = utf8.next()
        var negative = false
        if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
            negative = byte == UInt8(ascii: "-")
            byte = utf8.next()
        }
        var mantissa: Int128 = 0
        var significantDigits = 0
        var fractionDigits = 0
        var trailingZeros = 0      // zeros after the point not yet folded into the mantissa
        var seenDigit = false
        var seenPoint = false
        var exponent = 0
        while let current = byte {
            if current >= 48 && current <= 57 {
                seenDigit = true
                let digit = Int128(current - 48)
                if seenPoint {
                    fractionDigits += 1
                    if digit == 0 {
                        trailingZeros += 1
                    } else {
                        // Past 38 digits the number is refused below; never multiply into an overflow.
                        guard trailingZeros <= 38 else { return nil }
                        for _ in 0..<trailingZeros {
                            guard let next = timesTen(mantissa) else { return nil }
                            mantissa = next
                        }
                        if significantDigits > 0 || trailingZeros > 0 { significantDigits += trailingZeros }
                        trailingZeros = 0
                        guard let next = timesTen(mantissa) else { return nil }
                        mantissa = next + digit
                        significantDigits += 1
                    }
                } else {
                    guard let next = timesTen(mantissa) else { return nil }
                    mantissa = next + digit
                    if mantissa > 0 { significantDigits += 1 }
                }
                guard significantDigits <= 38 else { return nil }
            } else if current == UInt8(ascii: ".") && !seenPoint && seenDigit {
                seenPoint = true
                byte = utf8.next()
                // "1." is not a number.
                guard let next = byte, next >= 48, next <= 57 else { return nil }
                continue
            } else if (current == UInt8(ascii: "e") || current == UInt8(ascii: "E")) && seenDigit {
                byte = utf8.next()
                var exponentNegative = false
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") {
                    exponentNegative = byte == UInt8(ascii: "-")
                    byte = utf8.next()
                }
                var exponentDigits = 0
                while let e = byte, e >= 48, e <= 57 {
                    exponent = exponent * 10 + Int(e - 48)
                    exponentDigits += 1
                    guard exponentDigits <= 3 else { return nil }
                    byte = utf8.next()
                }
                guard exponentDigits > 0, byte == nil else { return nil }
                if exponentNegative { exponent = -exponent }
                break
            } else {
                return nil
            }
            byte = utf8.next()
        }
        guard seenDigit else { return nil }
        // Zeros after the last non-zero fraction digit do not count.
        fractionDigits -= trailingZeros
        var shift = Self.scale + exponent - fractionDigits
        while shift < 0 {
            guard mantissa % 10 == 0 else { return nil }
            mantissa /= 10
            shift += 1
        }
        for _ in 0..<shift {
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            mantissa = product
        }
        guard mantissa < limit else { return nil }
        return Quantity(raw: negative ? -mantissa : mantissa)
    }

    /// significand × 10^exponent, when it has at most 12 digits after the point and is below 10²⁶.
    public init?(significand: UInt64, exponent: Int, negative: Bool) {
        var mantissa = Int128(significand)
        var shift = Self.scale + exponent
        if mantissa == 0 {
            self = .zero
            return
        }
        while shift < 0 {
            guard mantissa % 10 == 0 else { return nil }
            mantissa /= 10
            shift += 1
        }
        guard shift <= 38 else { return nil }
        for _ in 0..<shift {
            let (product, overflow) = mantissa.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            mantissa = product
        }
        guard mantissa < Self.limit else { return nil }
        self.init(raw: negative ? -mantissa : mantissa)
    }

    /// `value × 10`, or nil when that overflows (more digits than any accepted number has).
    private static func timesTen(_ value: Int128) -> Int128? {
        let (product, overflow) = value.multipliedReportingOverflow(by: 10)
        return overflow || product > Int128.max - 9 ? nil : product
    }

    /// Canonical text: no exponent, no trailing zeros after the point ("98.16", "12002", "-0.5").
    public var description: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        appendText(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `description`'s bytes: how messages, COPY rows and digests write a number
    /// without building a String for it.
    public func appendText(to bytes: inout [UInt8]) {
        let negative = raw < 0
        let magnitude = raw.magnitude
        let integer: UInt128
        var fraction: UInt64
        if magnitude >> 64 == 0 {
            // The common case: 64-bit arithmetic, not the 128-bit division routine.
            let small = UInt64(magnitude)
            integer = UInt128(small / 1_000_000_000_000)
            fraction = small % 1_000_000_000_000
        } else {
            integer = magnitude / UInt128(Self.one)
            fraction = UInt64(magnitude % UInt128(Self.one))
        }
        if negative { bytes.append(UInt8(ascii: "-")) }
        if integer >> 64 == 0 {
            bytes.appendDecimal(UInt64(integer))
        } else {
            bytes.append(contentsOf: String(integer).utf8)
        }
        guard fraction > 0 else { return }
        var digits = Self.scale
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        bytes.append(UInt8(ascii: "."))
        bytes.appendDecimal(fraction, width: digits)
    }

    public var isWholeNumber: Bool { raw % Self.one == 0 }

    /// The absolute value.
    public var magnitude: Quantity { raw < 0 ? -self : self }

    /// The value when it is a whole number that fits in an `Int`.
    public var exactInt: Int? {
        guard isWholeNumber else { return nil }
        return Int(exactly: raw / Self.one)
    }

    /// The nearest `Double`, for display and statistics that need no exactness.
    public var doubleValue: Double { Double(raw) / 1e12 }

    public static func < (a: Quantity, b: Quantity) -> Bool { a.raw < b.raw }

    public static func + (a: Quantity, b: Quantity) -> Quantity { Quantity(raw: a.raw &+ b.raw) }
    public static func - (a: Quantity, b: Quantity) -> Quantity { Quantity(raw: a.raw &- b.raw) }
    public static func += (a: inout Quantity, b: Quantity) { a = a + b }
    public static func -= (a: inout Quantity, b: Quantity) { a = a - b }
    public static prefix func - (a: Quantity) -> Quantity { Quantity(raw: 0 &- a.raw) }

    /// The product, rounded half away from zero to 12 digits (exact when either factor has no
    /// more than 12 − the other's digits after the point, as counts × rates do).
    public static func * (a: Quantity, b: Quantity) -> Quantity {
        let (high, low) = a.raw.multipliedFullWidth(by: b.raw)
        return Quantity(raw: Self.roundedDivision(high: high, low: low, by: one))
    }

    /// `a / b` rounded half away from zero to `scale` digits after the point.
    public static func divide(_ a: Quantity, by b: Quantity, scale: Int = ExactDecimal.quotientScale) -> Quantity {
        // Callers divide by positive totals only; zero gives zero rather than a trap.
        guard b.raw != 0 else { return .zero }
        // (a.raw / b.raw) × 10^scale, rounded; then back to 10^-12 units.
        let factor = Int128(pow10(scale))
        let (high, low) = a.raw.multipliedFullWidth(by: factor)
        let quotient = roundedDivision(high: high, low: low, by: b.raw)
        let (scaled, overflow) = quotient.multipliedReportingOverflow(by: Int128(pow10(Self.scale - scale)))
        return Quantity(raw: overflow ? (quotient < 0 ? Int128.min + 1 : Int128.max) : scaled)
    }

    /// Rounds half away from zero to `scale` digits after the point.
    public func rounded(scale: Int) -> Quantity {
        guard scale < Self.scale else { return self }
        let unit = Int128(Self.pow10(Self.scale - scale))
        let (quotient, remainder) = raw.quotientAndRemainder(dividingBy: unit)
        var result = quotient
        if remainder.magnitude * 2 >= unit.magnitude { result += raw < 0 ? -1 : 1 }
        return Quantity(raw: result &* unit)
    }

    static func pow10(_ n: Int) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<n { value *= 10 }
        return value
    }

    /// (high, low) / divisor, rounded half away from zero; the quotient must fit in Int128.
    static func roundedDivision(high: Int128, low: UInt128, by divisor: Int128) -> Int128 {
        let negative = (high < 0) != (divisor < 0)
        // Work on magnitudes: the 256-bit dividend as (UInt128 high, UInt128 low).
        var magnitudeHigh = UInt128(bitPattern: high)
        var magnitudeLow = low
        if high < 0 {
            // Two's complement negation of the 256-bit value.
            magnitudeLow = ~magnitudeLow
            magnitudeHigh = ~magnitudeHigh
            let (sum, overflow) = magnitudeLow.addingReportingOverflow(1)
            magnitudeLow = sum
            if overflow { magnitudeHigh &+= 1 }
        }
        let divisorMagnitude = divisor.magnitude
        // A quotient beyond Int128 cannot come from validated figures; saturate rather than trap.
        guard magnitudeHigh < divisorMagnitude else { return negative ? Int128.min + 1 : Int128.max }
        let (quotient, remainder) = divisorMagnitude.dividingFullWidth((high: magnitudeHigh, low: magnitudeLow))
        var result = quotient
        if remainder >= divisorMagnitude - remainder { result &+= 1 }
        guard result <= UInt128(Int128.max) else { return negative ? Int128.min + 1 : Int128.max }
        let signed = Int128(bitPattern: result)
        return negative ? -signed : signed
    }
}

extension Quantity: Codable {
    /// Decodes a JSON number (or a numeric string) exactly.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = Quantity.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a number with at most 12 decimals below 10^26")
            }
            self = value
            return
        }
        let decimal = try container.decode(Decimal.self)
        guard let value = Quantity(exactly: decimal) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(decimal) has more than 12 decimals or is too large")
        }
        self = value
    }

    /// Encodes as a JSON number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(decimal)
    }
}

extension Quantity {
    /// Converts a `Decimal` when it fits exactly.
    public init?(exactly decimal: Decimal) {
        guard let value = Quantity.parse(decimal.description) else { return nil }
        self = value
    }

    public var decimal: Decimal {
        Decimal(string: description, locale: Locale(identifier: "en_US_POSIX")) ?? 0
    }
}
