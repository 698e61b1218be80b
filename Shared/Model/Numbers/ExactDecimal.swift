import Foundation

/// Exact decimal arithmetic helpers. Figures are sums of reported counts and percentages; they
/// must come out the same however the additions are grouped, so no binary floating point.
public enum ExactDecimal {
    /// Digits kept after the decimal point for quotients (rates, ratios, completeness).
    public static let quotientScale = 10

    /// Parses a plain decimal number: optional minus, digits, optional fraction and exponent.
    /// Unlike `Decimal(string:)` it rejects trailing text ("12abc"), commas, NaN and Infinity.
    public static func parse(_ text: String) -> Decimal? {
        let bytes = Array(text.utf8)
        var i = 0
        func digitsRun() -> Int {
            let start = i
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
            return i - start
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
        let intDigits = digitsRun()
        var fracDigits = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            fracDigits = digitsRun()
            guard fracDigits > 0 else { return nil }
        }
        guard intDigits > 0 || fracDigits > 0 else { return nil }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") { i += 1 }
            guard digitsRun() > 0 else { return nil }
        }
        guard i == bytes.count, intDigits + fracDigits <= 38 else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }

    /// `numerator / denominator`, rounded half away from zero to `scale` digits.
    public static func divide(_ numerator: Decimal, by denominator: Decimal, scale: Int = quotientScale) -> Decimal {
        round(numerator / denominator, scale: scale)
    }

    public static func round(_ value: Decimal, scale: Int) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .plain)
        return result
    }

    /// Canonical text: no exponent, no trailing zeros after the point ("98.16", "12002").
    public static func string(_ value: Decimal) -> String {
        var text = value.description
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    /// True when the value has no fractional part.
    public static func isInteger(_ value: Decimal) -> Bool {
        round(value, scale: 0) == value
    }
}

/// Numbers the way Vietnamese readers write them: dot for thousands, comma for decimals
/// ("12.002", "35,44%").
public enum VietnameseNumberFormat {
    public static func format(_ value: Quantity, fractionDigits: Int = 2) -> String {
        let text = value.rounded(scale: fractionDigits).description
        let negative = text.hasPrefix("-")
        let unsigned = negative ? String(text.dropFirst()) : text
        let parts = unsigned.split(separator: ".", maxSplits: 1)
        let integer = String(parts[0])
        var grouped = ""
        for (i, ch) in integer.enumerated() {
            if i > 0 && (integer.count - i) % 3 == 0 { grouped.append(".") }
            grouped.append(ch)
        }
        var result = (negative ? "-" : "") + grouped
        if parts.count == 2 { result += "," + parts[1] }
        return result
    }

    /// English style for the English summary ("12,002", "35.44%").
    public static func formatEnglish(_ value: Quantity, fractionDigits: Int = 2) -> String {
        format(value, fractionDigits: fractionDigits)
            .replacingOccurrences(of: ".", with: "\u{0}")
            .replacingOccurrences(of: ",", with: ".")
            .replacingOccurrences(of: "\u{0}", with: ",")
    }
}
