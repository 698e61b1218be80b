import Foundation

public enum AlertStatus: String, Codable, Sendable, CaseIterable {
    case firing, resolved, acknowledged, silenced
}

public enum AlertSeverity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, warning, critical

    var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .critical: 2
        }
    }

    public static func < (a: AlertSeverity, b: AlertSeverity) -> Bool { a.rank < b.rank }
}

/// What identifies an alert across its life: the same rule, unit, indicator and period is the
/// same alert, however often its value changes. A 64-bit FNV-1a hash, as 16 hex digits.
public enum AlertFingerprint {
    public static func make(rule: String, unit: UnitCode, indicator: String, period: Period) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(rule)\u{0}\(unit.rawValue)\u{0}\(indicator)\u{0}\(period)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// `dx.alerts.v1`: one transition of one alert. This is the public contract subscribers rely on
/// (deploy/schemas/dx.alerts.v1.json).
public struct AlertTransition: Codable, Sendable, Hashable {
    public static let schema = "dx.alerts.v1"

    public struct Unit: Codable, Sendable, Hashable {
        public var code: UnitCode
        public var name: String
        public var level: AdministrativeLevel
        /// Names from the country down to the unit.
        public var path: [String]

        public init(code: UnitCode, name: String, level: AdministrativeLevel, path: [String]) {
            self.code = code
            self.name = name
            self.level = level
            self.path = path
        }
    }

    public struct IndicatorInfo: Codable, Sendable, Hashable {
        public var code: String
        public var nameVi: String
        public var nameEn: String

        public init(code: String, nameVi: String, nameEn: String) {
            self.code = code
            self.nameVi = nameVi
            self.nameEn = nameEn
        }
    }

    public struct Summary: Codable, Sendable, Hashable {
        public var vi: String
        public var en: String

        public init(vi: String, en: String) {
            self.vi = vi
            self.en = en
        }
    }

    public var fingerprint: String
    public var status: AlertStatus
    public var rule: String
    public var severity: AlertSeverity
    public var unit: Unit
    public var indicator: IndicatorInfo
    public var period: Period
    public var value: Decimal?
    public var target: Decimal?
    public var targetYear: Int?
    public var startsAt: String
    public var endsAt: String?
    public var summary: Summary

    public init(fingerprint: String, status: AlertStatus, rule: String, severity: AlertSeverity, unit: Unit, indicator: IndicatorInfo,
                period: Period, value: Decimal?, target: Decimal?, targetYear: Int?, startsAt: Date, endsAt: Date?, summary: Summary) {
        self.fingerprint = fingerprint
        self.status = status
        self.rule = rule
        self.severity = severity
        self.unit = unit
        self.indicator = indicator
        self.period = period
        self.value = value
        self.target = target
        self.targetYear = targetYear
        self.startsAt = RFC3339.string(startsAt)
        self.endsAt = endsAt.map(RFC3339.string)
        self.summary = summary
    }
}

extension AlertTransition.Unit {
    public init(code: UnitCode, catalog: Catalog) {
        let unit = catalog.units[code]
        self.init(code: code, name: unit?.name ?? code.rawValue, level: unit?.level ?? .commune, path: catalog.units.path(of: code))
    }
}
