import Foundation

/// An operator's silence, as in Alertmanager: while active it mutes every alert of `rule` (or of
/// every rule, `*`) for `unit` and the units under it — alerts are still evaluated and recorded,
/// just not delivered.
public struct Silence: Sendable, Hashable {
    public static let anyRule = "*"

    public var id: Int64
    public var rule: String
    public var unit: UnitCode
    public var startsAt: Date
    public var endsAt: Date
    public var createdBy: String
    public var comment: String?

    public init(id: Int64, rule: String, unit: UnitCode, startsAt: Date, endsAt: Date, createdBy: String, comment: String?) {
        self.id = id
        self.rule = rule
        self.unit = unit
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
        self.comment = comment
    }

    public func isActive(at now: Date) -> Bool {
        startsAt <= now && now < endsAt
    }

    public func matches(rule: String, unit: UnitCode, units: UnitDirectory) -> Bool {
        (self.rule == Self.anyRule || self.rule == rule) && units.isWithin(unit, subtreeOf: self.unit)
    }

    /// The active silence for an alert that ends last (it says how long the alert stays muted).
    public static func muting(rule: String, unit: UnitCode, among silences: [Silence], at now: Date, units: UnitDirectory) -> Silence? {
        silences.filter { $0.isActive(at: now) && $0.matches(rule: rule, unit: unit, units: units) }.max { ($0.endsAt, $0.id) < ($1.endsAt, $1.id) }
    }
}

/// The life of one alert (one fingerprint): firing while its condition holds, acknowledged or
/// silenced by operators, resolved when the condition clears. Every change of status is one
/// transition, published once.
public enum AlertLifecycle {
    /// The status an open alert has: a silence outranks an acknowledgement, which outranks firing.
    public static func openStatus(silenced: Bool, acknowledged: Bool) -> AlertStatus {
        silenced ? .silenced : acknowledged ? .acknowledged : .firing
    }

    /// The transition for an alert whose condition is `active`, or nil when its status stays.
    /// `current` is nil for an alert never seen; a resolved alert that fires again starts a new
    /// episode (without the old acknowledgement: the caller passes `acknowledged: false`).
    public static func next(current: AlertStatus?, active: Bool, silenced: Bool, acknowledged: Bool) -> AlertStatus? {
        let isOpen = current.map { $0 != .resolved } ?? false
        guard active else { return isOpen ? .resolved : nil }
        let desired = openStatus(silenced: silenced, acknowledged: isOpen && acknowledged)
        return current == desired ? nil : desired
    }

    /// Whether a transition goes out to webhooks, or is only recorded (alerting.transitions) and
    /// published on dx.alerts.v1. Muted: the `silenced` transition itself, and the resolution of
    /// an alert that was silenced when it resolved. Everything else is delivered.
    public static func isDelivered(_ status: AlertStatus, previous: AlertStatus?) -> Bool {
        switch status {
        case .silenced: false
        case .resolved: previous != .silenced
        case .firing, .acknowledged: true
        }
    }
}
