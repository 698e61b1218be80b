import DXModel
import Foundation

/// A public-service dossier event, as `POST /v1/events` takes it, one JSON object per line:
///
///     {"eventId": "hcc-2026-000123-r", "kind": "dossier_received", "unit": "24403",
///      "occurredAt": "2026-03-05T09:12:00+07:00", "channel": "online", "feeRequired": true}
///
/// Each event counts +1 into monthly data elements of the catalog, for its unit and the month
/// (in Vietnam, UTC+7) of `occurredAt`:
///
/// | kind               | extra fields                          | counts into |
/// | ------------------ | ------------------------------------- | ----------- |
/// | `dossier_received` | `channel`: online/offline, `feeRequired`: bool (default false) | dossiers_received_total; + dossiers_received_online when online; + dossiers_requiring_payment when feeRequired |
/// | `dossier_resolved` | `onTime`: bool                        | dossiers_resolved_total; + dossiers_resolved_on_time when onTime |
/// | `fee_paid_online`  | none                                  | dossiers_paid_online |
struct DossierEvent: Sendable, Hashable {
    enum Kind: String, Sendable, CaseIterable {
        case dossierReceived = "dossier_received"
        case dossierResolved = "dossier_resolved"
        case feePaidOnline = "fee_paid_online"
    }

    var line: Int
    var eventID: String
    var kind: Kind
    var unit: UnitCode
    /// The province whose message carries the event's counts (`UnitDirectory.province(of:)`).
    var province: UnitCode
    var occurredAt: Timestamp
    /// The month in Vietnam the event happened in: the period it counts into.
    var period: Period
    /// Where in `countedElements` the elements it increments are.
    var counted: Int

    /// Every list of catalog elements an event can increment; an event's list is one of these.
    static let countedElements: [[String]] = [
        ["dossiers_received_total"],
        ["dossiers_received_total", "dossiers_received_online"],
        ["dossiers_received_total", "dossiers_requiring_payment"],
        ["dossiers_received_total", "dossiers_received_online", "dossiers_requiring_payment"],
        ["dossiers_resolved_total"],
        ["dossiers_resolved_total", "dossiers_resolved_on_time"],
        ["dossiers_paid_online"],
    ]

    /// Every element an event can increment, each once, in the order `countedElements` names them.
    static let elementCodes: [String] = countedElements.joined().reduce(into: []) { codes, code in
        if !codes.contains(code) { codes.append(code) }
    }

    /// For each of `elementCodes`, the indices of the lists in `countedElements` that contain it.
    static let listsCounting: [[Int]] = elementCodes.map { code in countedElements.indices.filter { countedElements[$0].contains(code) } }

    /// Where in `countedElements` the elements an event increments are.
    static func countedIndex(kind: Kind, online: Bool, feeRequired: Bool, onTime: Bool) -> Int {
        switch kind {
        case .dossierReceived: (online ? 1 : 0) + (feeRequired ? 2 : 0)
        case .dossierResolved: onTime ? 5 : 4
        case .feePaidOnline: 6
        }
    }
}

/// An instant with microsecond precision, read from RFC 3339 text without a date formatter
/// (which is slow to build and lenient about what it accepts).
struct Timestamp: Sendable, Hashable, Comparable {
    var seconds: Int64
    var microseconds: Int

    init(seconds: Int64, microseconds: Int) {
        self.seconds = seconds
        self.microseconds = microseconds
    }

    init(_ date: Date) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
        seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        microseconds = Int(micros - seconds * 1_000_000)
    }

    static func < (a: Timestamp, b: Timestamp) -> Bool { (a.seconds, a.microseconds) < (b.seconds, b.microseconds) }

    /// The day in Vietnam.
    var vietnamDay: Day { Day(atSecond: Int(seconds)) }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, years 1900–2999; `t`, `z` and a space for
    /// the `T` are accepted as RFC 3339 allows. Fractions beyond microseconds are cut.
    static func parse(_ text: String) -> Timestamp? {
        var text = text
        return text.withUTF8 { parse(utf8: $0) }
    }

    private static func parse(utf8 b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard b.count >= 20 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1900...2999).contains(year), (1...12).contains(month), (1...Day.daysIn(month: month, year: year)).contains(day),
              hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = 19
        var micros = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(b[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        guard i < b.count else { return nil }
        var offsetSeconds = 0
        if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
            i += 1
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let oh = number(i + 1..<i + 3), let om = number(i + 4..<i + 6),
                  oh <= 23, om <= 59 else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // A leap second is counted as the last microsecond of its minute.
        let (secondOfMinute, micro) = second == 60 ? (59, 999_999) : (second, micros)
        let days = Int64(Day(year: year, month: month, day: day).daysSinceEpoch)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + secondOfMinute) - Int64(offsetSeconds)
        return Timestamp(seconds: seconds, microseconds: micro)
    }

    /// UTC, microseconds: what PostgreSQL's timestamptz reads back exactly.
    var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        appendRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `rfc3339`'s text, appended as bytes, the digits after the year written in place: this runs
    /// for every event row.
    func appendRFC3339(to bytes: inout [UInt8]) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let day = Day(daysSinceEpoch: Int(days))
        bytes.appendDecimal(UInt64(clamping: day.year), width: 4)
        let start = bytes.count
        bytes.append(contentsOf: "-00-00T00:00:00.000000Z".utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            let text = UnsafeMutableBufferPointer(rebasing: buffer[start...])
            text.setDecimal(day.month, width: 2, at: 1)
            text.setDecimal(day.day, width: 2, at: 4)
            text.setDecimal(secondOfDay / 3600, width: 2, at: 7)
            text.setDecimal((secondOfDay / 60) % 60, width: 2, at: 10)
            text.setDecimal(secondOfDay % 60, width: 2, at: 13)
            text.setDecimal(microseconds, width: 6, at: 16)
        }
    }
}

/// Reads and checks an NDJSON body of dossier events: every line on its own, so every bad line
/// is reported with its number, field and reason.
struct EventParser {
    let catalog: Catalog
    let scope: UnitCode
    let now: Timestamp
    /// The catalog's entry (or nil: not in the catalog) of each of `DossierEvent.countedElements`.
    private let countedElementInfo: [[DataElement?]]
    /// For each of `DossierEvent.countedElements`: every element is in the catalog and monthly,
    /// as an event's period is. Then only the unit's lifetime can fail the catalog's rules.
    private let countsMonthlyElements: [Bool]

    init(catalog: Catalog, scope: UnitCode, now: Timestamp) {
        self.catalog = catalog
        self.scope = scope
        self.now = now
        countedElementInfo = DossierEvent.countedElements.map { $0.map { catalog.elements[$0] } }
        countsMonthlyElements = countedElementInfo.map { $0.allSatisfy { $0?.periodType == .month } }
    }

    /// Events may carry a clock a little ahead of ours; beyond this they are in the future.
    static let clockSkewSeconds: Int64 = 300

    struct Duplicate: Codable, Sendable, Equatable {
        var line: Int
        var eventId: String
        var reason: String
    }

    struct Result {
        var lines = 0
        var events: [DossierEvent] = []
        var errors: [Problem.RowError] = []
        var outOfScope: [Problem.RowError] = []
        var duplicates: [Duplicate] = []
    }

    func parse(_ body: [UInt8]) -> Result {
        var result = Result()
        var firstLine: [String: Int] = [:]
        firstLine.reserveCapacity(body.count / 100)
        var lineNumber = 0
        var start = 0
        while start <= body.count {
            var end = start
            while end < body.count, body[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var slice = body[start..<end]
            if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
            if lineNumber == 1, slice.starts(with: [0xEF, 0xBB, 0xBF]) { slice = slice.dropFirst(3) }
            start = end + 1
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            result.lines += 1
            let line = lineNumber
            let fields: EventFields
            if let plain = EventFields(plainLine: slice) {
                fields = plain
            } else {
                let object: JSONValue
                do throws(JSONSyntaxError) {
                    object = try JSONParser.parse(slice)
                } catch {
                    result.errors.append(.init(line: line, field: "line", reason: "not valid JSON: column \(error.column): \(error.reason)"))
                    continue
                }
                guard case .object(let members) = object else {
                    result.errors.append(.init(line: line, field: "line", reason: "each line must be one JSON object, not \(object.kind)"))
                    continue
                }
                fields = EventFields(members)
            }
            guard let event = check(fields, line: line, result: &result) else { continue }
            // The id's first line, recorded now if this is it: one lookup (line numbers start at 1).
            let first = { (slot: inout Int) -> Int in
                if slot == 0 { slot = line }
                return slot
            }(&firstLine[event.eventID, default: 0])
            if first != line {
                result.duplicates.append(Duplicate(line: line, eventId: event.eventID, reason: "given twice in this request (first on line \(first))"))
                continue
            }
            result.events.append(event)
        }
        return result
    }

    /// Fields that belong to one kind of event only.
    private static let fieldOwners: [(field: EventFields.Name, kind: DossierEvent.Kind)] = [
        (.channel, .dossierReceived), (.feeRequired, .dossierReceived), (.onTime, .dossierResolved),
    ]

    private func check(_ object: EventFields, line: Int, result: inout Result) -> DossierEvent? {
        var failed = false
        func fail(_ field: String, _ reason: String) {
            failed = true
            result.errors.append(.init(line: line, field: field, reason: reason))
        }
        func text(_ name: EventFields.Name) -> String? {
            let field = name.rawValue
            switch object[name] {
            case .string(let value)? where !value.isEmpty: return value
            case nil, .null?, .string?: fail(field, "\(field) is missing")
            case let other?: fail(field, "\(field) must be a string, not \(other.kind)")
            }
            return nil
        }
        func flag(_ name: EventFields.Name, required: Bool) -> Bool? {
            let field = name.rawValue
            switch object[name] {
            case .bool(let value)?: return value
            case nil, .null?: if required { fail(field, "\(field) is missing (true or false)") }
            case let other?: fail(field, "\(field) must be true or false, not \(other.kind)")
            }
            return nil
        }

        var eventID: String?
        if let id = text(.eventId) {
            if ReportValidator.isValidReportID(id) { eventID = id } else {
                fail("eventId", "'\(ReportValidator.quoted(id))' is not a valid event id: \(ReportValidator.reportIDPattern)")
            }
        }
        var kind: DossierEvent.Kind?
        if let name = text(.kind) {
            kind = DossierEvent.Kind(rawValue: name)
            if kind == nil {
                fail("kind", "'\(ReportValidator.quoted(name))' is not an event kind (\(DossierEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        var place: UnitPlace?
        if let code = text(.unit) {
            place = catalog.units.place(of: UnitCode(code))
            if place == nil { fail("unit", "unit '\(ReportValidator.quoted(code))' is not in the catalog") }
        }
        var occurredAt: Timestamp?
        if let stamp = text(.occurredAt) {
            occurredAt = Timestamp.parse(stamp)
            if occurredAt == nil {
                fail("occurredAt", "'\(ReportValidator.quoted(stamp))' is not an RFC 3339 timestamp such as 2026-03-05T09:12:00+07:00 (years 1900–2999)")
            } else if let at = occurredAt, at.seconds > now.seconds + Self.clockSkewSeconds {
                fail("occurredAt", "\(stamp) is in the future (now is \(now.rfc3339))")
            }
        }

        // Fields that belong to one kind only: present on another kind they are a mistake.
        var online = false, feeRequired = false, onTime = false
        if let kind {
            for (field, owner) in Self.fieldOwners where owner != kind && object[field] != nil {
                fail(field.rawValue, "\(field.rawValue) applies to \(owner.rawValue) events, not to \(kind.rawValue)")
            }
            switch kind {
            case .dossierReceived:
                if let channel = text(.channel) {
                    switch channel {
                    case "online": online = true
                    case "offline": online = false
                    default: fail("channel", "channel must be online or offline, not '\(ReportValidator.quoted(channel))'")
                    }
                }
                feeRequired = flag(.feeRequired, required: false) ?? false
            case .dossierResolved:
                onTime = flag(.onTime, required: true) ?? false
            case .feePaidOnline:
                break
            }
        }

        var period: Period?
        var counted: Int?
        if let occurredAt {
            let day = occurredAt.vietnamDay
            period = .month(day.year, day.month)
        }
        rules: if let kind {
            let index = DossierEvent.countedIndex(kind: kind, online: online, feeRequired: feeRequired, onTime: onTime)
            counted = index
            // The catalog's rules for each element it counts into: the unit existed that month.
            // Asked of the unit alone first: it almost always did, and the rules' messages are
            // built only for an event that breaks one.
            let unitExisted = if let period, let place { place.unit.isValid(at: period) } else { true }
            if countsMonthlyElements[index] && unitExisted { break rules }
            var reasons = Set<String>()
            // Each entry read in place, not bound: a copy of a DataElement is a retain per string.
            for (position, element) in DossierEvent.countedElements[index].enumerated() {
                guard countedElementInfo[index][position] != nil else {
                    if reasons.insert(element).inserted { fail("element", "data element \(element) is not in the catalog") }
                    continue
                }
                for violation in ObservationRules.problems(unit: place?.unit, period: period, element: countedElementInfo[index][position], value: nil, today: nil)
                where reasons.insert(violation.reason).inserted {
                    fail(violation.field == .period ? "occurredAt" : violation.field.rawValue, violation.reason)
                }
            }
        }
        if let place, !place.isWithin(subtreeOf: scope) {
            result.outOfScope.append(.init(line: line, field: "unit",
                                           reason: ReportValidator.outsideScope(place.unit, scope: scope, catalog: catalog)))
            return nil
        }
        guard !failed, let eventID, let kind, let place, let occurredAt, let period, let counted else { return nil }
        return DossierEvent(line: line, eventID: eventID, kind: kind, unit: place.unit.code, province: place.province ?? place.unit.code,
                            occurredAt: occurredAt, period: period, counted: counted)
    }
}
