/// The fields of one event line that `EventParser` judges, however the line was read: so a
/// line's verdict and its error messages never depend on the reader.
///
/// Almost every line a client sends is a flat object of plain ASCII strings and booleans.
/// `init?(plainLine:)` reads exactly those, straight from the bytes, without building a JSON
/// tree; any other line (escapes, numbers, nulls, nesting, other members, anything malformed)
/// goes to `JSONParser`, which says precisely what is wrong with it.
struct EventFields: Equatable {
    enum Name: String, CaseIterable {
        case eventId, kind, unit, occurredAt, channel, feeRequired, onTime

        /// Each name with its bytes.
        private static let utf8: [(name: Name, bytes: [UInt8])] = allCases.map { ($0, Array($0.rawValue.utf8)) }

        /// The name these bytes spell, if any. Lengths tell most names apart at once, and bytes
        /// are compared as bytes: this runs for every member of every line.
        fileprivate init?(bytes: ArraySlice<UInt8>) {
            guard let name = Self.utf8.first(where: { $0.bytes.count == bytes.count && $0.bytes.elementsEqual(bytes) })?.name else { return nil }
            self = name
        }
    }

    private var eventId, kind, unit, occurredAt, channel, feeRequired, onTime: JSONValue?

    subscript(name: Name) -> JSONValue? {
        get {
            switch name {
            case .eventId: eventId
            case .kind: kind
            case .unit: unit
            case .occurredAt: occurredAt
            case .channel: channel
            case .feeRequired: feeRequired
            case .onTime: onTime
            }
        }
        set {
            switch name {
            case .eventId: eventId = newValue
            case .kind: kind = newValue
            case .unit: unit = newValue
            case .occurredAt: occurredAt = newValue
            case .channel: channel = newValue
            case .feeRequired: feeRequired = newValue
            case .onTime: onTime = newValue
            }
        }
    }

    /// The members of an object `JSONParser` read; other members are not an event's and are ignored.
    init(_ object: JSONObject) {
        for name in Name.allCases { self[name] = object[name.rawValue] }
    }

    /// A flat object whose members are all event fields, each a string of printable ASCII
    /// without escapes, or true or false; nil for any other line. What it reads is what
    /// `JSONParser` would read from the same line (a repeated member: its last value).
    init?(plainLine line: ArraySlice<UInt8>) {
        var index = line.startIndex
        let end = line.endIndex
        func skipWhitespace() {
            while index < end, line[index] == 0x20 || line[index] == 0x09 || line[index] == 0x0D { index += 1 }
        }
        /// The bytes of a string that starts at `index`, printable ASCII without a backslash.
        func plainString() -> Range<Int>? {
            guard index < end, line[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            index = start
            while index < end {
                let byte = line[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return start..<index - 1
                }
                guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
                index += 1
            }
            return nil
        }
        func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard end - index >= count else { return false }
            for offset in 0..<count where line[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        skipWhitespace()
        guard index < end, line[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        skipWhitespace()
        if index < end, line[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                guard let nameBytes = plainString(), let name = Name(bytes: line[nameBytes]) else { return nil }
                skipWhitespace()
                guard index < end, line[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                guard index < end else { return nil }
                switch line[index] {
                case UInt8(ascii: "\""):
                    guard let value = plainString() else { return nil }
                    self[name] = .string(String(decoding: line[value], as: UTF8.self))
                case UInt8(ascii: "t"):
                    guard literal("true") else { return nil }
                    self[name] = .bool(true)
                case UInt8(ascii: "f"):
                    guard literal("false") else { return nil }
                    self[name] = .bool(false)
                default:
                    return nil
                }
                skipWhitespace()
                guard index < end else { return nil }
                if line[index] == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                } else if line[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                } else {
                    return nil
                }
            }
        }
        skipWhitespace()
        guard index == end else { return nil }
    }
}
