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
        /// The current-tree province the unit belongs to (absent for the country): what webhooks
        /// group by and what a province's subscribers filter on.
        public var province: UnitCode?

        public init(code: UnitCode, name: String, level: AdministrativeLevel, path: [String], province: UnitCode? = nil) {
            self.code = code
            self.name = name
            self.level = level
            self.path = path
            self.province = province
        }
    }

    /// Who acknowledged the alert, when, why, and until when (absent: until it resolves).
    public struct Acknowledgement: Codable, Sendable, Hashable {
        public var by: String
        public var at: String
        public var comment: String?
        public var until: String?

        public init(by: String, at: Date, comment: String?, until: Date?) {
            self.by = by
            self.at = RFC3339.string(at)
            self.comment = comment
            self.until = until.map(RFC3339.string)
        }
    }

    /// The silence that mutes the alert.
    public struct SilenceInfo: Codable, Sendable, Hashable {
        public var id: Int64
        public var by: String
        public var until: String
        public var comment: String?

        public init(id: Int64, by: String, until: Date, comment: String?) {
            self.id = id
            self.by = by
            self.until = RFC3339.string(until)
            self.comment = comment
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
    /// below_target, off_track, regression, data_quality or missing_report.
    public var ruleKind: AlertRuleKind?
    public var severity: AlertSeverity
    public var unit: Unit
    public var indicator: IndicatorInfo
    public var period: Period
    public var value: Quantity?
    public var target: Quantity?
    public var targetYear: Int?
    public var startsAt: String
    public var endsAt: String?
    public var summary: Summary
    /// Present while an operator's acknowledgement holds.
    public var acknowledgement: Acknowledgement?
    /// Present while a silence mutes the alert.
    public var silence: SilenceInfo?
    /// When this transition happened.
    public var at: String?

    public init(fingerprint: String, status: AlertStatus, rule: String, ruleKind: AlertRuleKind? = nil, severity: AlertSeverity, unit: Unit,
                indicator: IndicatorInfo, period: Period, value: Quantity?, target: Quantity?, targetYear: Int?, startsAt: Date, endsAt: Date?,
                summary: Summary, acknowledgement: Acknowledgement? = nil, silence: SilenceInfo? = nil, at: Date? = nil) {
        self.fingerprint = fingerprint
        self.status = status
        self.rule = rule
        self.ruleKind = ruleKind
        self.acknowledgement = acknowledgement
        self.silence = silence
        self.at = at.map(RFC3339.string)
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
        self.init(code: code, name: unit?.name ?? code.rawValue, level: unit?.level ?? .commune, path: catalog.units.path(of: code),
                  province: catalog.units.province(of: code))
    }
}

extension AlertTransition.IndicatorInfo {
    /// The indicator, or for missing_report alerts the data element, with its names.
    public init(code: String, catalog: Catalog) {
        if let indicator = catalog.indicators[code] {
            self.init(code: code, nameVi: indicator.nameVi, nameEn: indicator.nameEn)
        } else if let element = catalog.elements[code] {
            self.init(code: code, nameVi: element.nameVi, nameEn: element.nameEn)
        } else {
            self.init(code: code, nameVi: code, nameEn: code)
        }
    }
}
