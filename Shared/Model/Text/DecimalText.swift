/// Decimal digits written straight into bytes: numbers, periods, dates and timestamps are printed
/// on every message, COPY row and digest, where a String (or Foundation's formatter) per number
/// would cost more than the rest of the work.
extension Array where Element == UInt8 {
    /// Appends the digits of `value`, left-padded with zeros to `width` digits ("7", width 2 → "07").
    public mutating func appendDecimal(_ value: UInt64, width: Int = 1) {
        // Room for UInt64.max's 20 digits, as typed bytes: appended from a slice of raw bytes,
        // they went through the generic element-by-element copy, not one `memcpy`.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var start = buffer.count
            var rest = value
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            let digits = buffer.count - start
            if width > digits { append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits)) }
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
    }
}

extension UnsafeMutableBufferPointer where Element == UInt8 {
    /// Writes the last `width` digits of `value`, zero-padded, into `self[start..<start + width]`:
    /// for text laid out beforehand ("-00-00T00:00") whose digits are filled in place.
    public func setDecimal(_ value: Int, width: Int, at start: Int) {
        var rest = value
        for index in stride(from: start + width - 1, through: start, by: -1) {
            self[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
    }
}

extension Int {
    /// The decimal digits, left-padded with zeros to `width` ("7" → "07"): what
    /// `String(format: "%02d")` gives, without Foundation's formatter.
    public func zeroPadded(_ width: Int) -> String {
        var bytes: [UInt8] = []
        if self < 0 { bytes.append(UInt8(ascii: "-")) }
        bytes.appendDecimal(UInt64(magnitude), width: width)
        return String(decoding: bytes, as: UTF8.self)
    }
}
