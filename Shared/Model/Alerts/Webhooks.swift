import Foundation

/// One webhook receiver from `DX_WEBHOOKS_FILE` (a JSON array of these). Like an Alertmanager
/// receiver with its route: which alerts (a unit's subtree, a minimum severity, optionally some
/// rules), how they are grouped in time (group_wait, group_interval), and how hard to try.
public struct WebhookReceiver: Codable, Sendable, Hashable {
    public var name: String
    public var url: String
    /// Only alerts for this unit and the units under it; absent: the whole country.
    public var unit: UnitCode?
    /// Only alerts at least this severe; absent: all.
    public var minSeverity: AlertSeverity?
    /// Only these rules; absent: all.
    public var rules: [String]?
    /// How long a new group waits for more alerts before its first notification ("30s").
    public var groupWait: String?
    /// The least time between two notifications of one group ("5m").
    public var groupInterval: String?
    /// Tries per notification before it is recorded as failed.
    public var maxAttempts: Int?
    /// Wait after the first failed try, doubled after each further one up to `maxBackoff`.
    public var initialBackoff: String?
    public var maxBackoff: String?
    /// Per request.
    public var timeout: String?
    /// Extra request headers, e.g. an authorization token the receiver expects.
    public var headers: [String: String]?

    public init(name: String, url: String, unit: UnitCode? = nil, minSeverity: AlertSeverity? = nil) {
        self.name = name
        self.url = url
        self.unit = unit
        self.minSeverity = minSeverity
    }
}

/// A receiver with its durations parsed and defaults applied.
public struct WebhookRoute: Sendable, Hashable {
    public var receiver: WebhookReceiver
    public var groupWait: Duration
    public var groupInterval: Duration
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var timeout: Duration

    public var name: String { receiver.name }

    public static let defaultGroupWait: Duration = .seconds(30)
    public static let defaultGroupInterval: Duration = .seconds(300)

    /// Whether this receiver wants a transition at all (muting is decided before).
    public func accepts(rule: String, unit: UnitCode, severity: AlertSeverity, units: UnitDirectory) -> Bool {
        if let minimum = receiver.minSeverity, severity < minimum { return false }
        if let rules = receiver.rules, !rules.contains(rule) { return false }
        if let root = receiver.unit, !units.isWithin(unit, subtreeOf: root) { return false }
        return true
    }

    /// The wait before try `attempt + 1` after `attempt` failed tries: doubling, capped.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        var delay = initialBackoff
        for _ in 1..<max(1, attempt) {
            delay = delay * 2
            if delay >= maxBackoff { return maxBackoff }
        }
        return min(delay, maxBackoff)
    }

    /// Notifications are grouped per province and rule, as Alertmanager's `group_by`.
    public static func groupKey(province: UnitCode?, rule: String) -> String {
        "\(province?.rawValue ?? UnitCode.country.rawValue)/\(rule)"
    }
}

public struct WebhookConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum WebhookConfiguration {
    /// Parses and checks the receivers file. `catalog` checks the units when given.
    public static func parse(_ text: String, catalog: Catalog? = nil) throws(WebhookConfigurationError) -> [WebhookRoute] {
        let receivers: [WebhookReceiver]
        do {
            receivers = try JSONDecoder().decode([WebhookReceiver].self, from: Data(text.utf8))
        } catch {
            throw WebhookConfigurationError("not a JSON array of receivers: \(MessageCoding.describe(error))")
        }
        var names = Set<String>()
        var routes: [WebhookRoute] = []
        for (index, receiver) in receivers.enumerated() {
            let label = "receivers[\(index)] (\(receiver.name))"
            guard !receiver.name.isEmpty, names.insert(receiver.name).inserted else {
                throw WebhookConfigurationError("\(label): name must be non-empty and unique")
            }
            guard let url = URL(string: receiver.url), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw WebhookConfigurationError("\(label): url '\(receiver.url)' is not an http(s) URL")
            }
            if let unit = receiver.unit, let catalog, catalog.units[unit] == nil {
                throw WebhookConfigurationError("\(label): unit \(unit) is not in the catalog")
            }
            func duration(_ text: String?, _ field: String, default value: Duration) throws(WebhookConfigurationError) -> Duration {
                guard let text else { return value }
                guard let parsed = parseDuration(text) else {
                    throw WebhookConfigurationError("\(label): \(field) '\(text)' is not a duration like 500ms, 30s, 5m or 1h")
                }
                return parsed
            }
            let attempts = receiver.maxAttempts ?? 5
            guard (1...100).contains(attempts) else { throw WebhookConfigurationError("\(label): maxAttempts must be 1…100") }
            let route = WebhookRoute(
                receiver: receiver,
                groupWait: try duration(receiver.groupWait, "groupWait", default: WebhookRoute.defaultGroupWait),
                groupInterval: try duration(receiver.groupInterval, "groupInterval", default: WebhookRoute.defaultGroupInterval),
                maxAttempts: attempts,
                initialBackoff: try duration(receiver.initialBackoff, "initialBackoff", default: .seconds(1)),
                maxBackoff: try duration(receiver.maxBackoff, "maxBackoff", default: .seconds(300)),
                timeout: try duration(receiver.timeout, "timeout", default: .seconds(10))
            )
            guard route.timeout > .zero, route.initialBackoff > .zero, route.maxBackoff >= route.initialBackoff else {
                throw WebhookConfigurationError("\(label): timeout and initialBackoff must be positive and maxBackoff at least initialBackoff")
            }
            routes.append(route)
        }
        return routes
    }

    /// "500ms", "30s", "5m", "1h", "1h30m".
    public static func parseDuration(_ text: String) -> Duration? {
        var total: Duration = .zero
        var number = ""
        var unit = ""
        var parsedAny = false
        func flush() -> Bool {
            guard !number.isEmpty, let value = Int64(number) else { return false }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            default: return false
            }
            number = ""
            unit = ""
            parsedAny = true
            return true
        }
        for ch in text {
            if ch.isASCII && ch.isNumber {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(ch)
            } else if ch.isASCII && ch.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(ch)
            } else {
                return nil
            }
        }
        guard flush(), parsedAny else { return nil }
        return total
    }
}

/// The body POSTed to a webhook: one group's transitions since its last notification.
public struct WebhookNotification: Codable, Sendable {
    public struct Group: Codable, Sendable {
        public var province: String
        public var provinceName: String
        public var rule: String

        public init(province: String, provinceName: String, rule: String) {
            self.province = province
            self.provinceName = provinceName
            self.rule = rule
        }
    }

    public var version = "1"
    /// Unique per notification and the same on every retry of it: receivers can drop repeats.
    public var id: String
    public var receiver: String
    public var groupKey: String
    public var group: Group
    /// `firing` when any transition in it is firing or acknowledged, else `resolved`.
    public var status: String
    public var alerts: [AlertTransition]

    public init(id: String, receiver: String, groupKey: String, group: Group, alerts: [AlertTransition]) {
        self.id = id
        self.receiver = receiver
        self.groupKey = groupKey
        self.group = group
        self.status = alerts.contains { $0.status == .firing || $0.status == .acknowledged } ? "firing" : "resolved"
        self.alerts = alerts
    }
}
