import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// Where dx-alerts reads the time. The service uses the system clock; tests inject their own to
/// run the missing-report timer and expiries at chosen instants.
public protocol AlertClock: Sendable {
    func now() -> Date
}

public struct SystemAlertClock: AlertClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// One row of alerting.alerts: an alert's whole state, enough to publish any of its transitions.
struct AlertRow: Sendable {
    var fingerprint: String
    var rule: String
    var ruleKind: AlertRuleKind?
    var severity: AlertSeverity
    var unit: UnitCode
    var province: UnitCode?
    var indicator: String
    var period: Period
    var status: AlertStatus
    var value: Quantity?
    var target: Quantity?
    var targetYear: Int?
    var startsAt: Date
    var endsAt: Date?
    var summaryVi: String
    var summaryEn: String
    var acknowledgedBy: String?
    var acknowledgedAt: Date?
    var acknowledgedUntil: Date?
    var acknowledgeComment: String?
    var silenceID: Int64?

    static let columns = """
        fingerprint, rule, rule_kind, severity, unit, province, indicator, period, status, value::text, target::text, target_year,
        starts_at, ends_at, summary_vi, summary_en, acknowledged_by, acknowledged_at, acknowledged_until, acknowledge_comment, silence_id
        """

    var isOpen: Bool { status != .resolved }

    /// An acknowledgement that still holds at `now`.
    func isAcknowledged(at now: Date) -> Bool {
        guard acknowledgedBy != nil else { return false }
        return acknowledgedUntil.map { now < $0 } ?? true
    }

    mutating func clearAcknowledgement() {
        acknowledgedBy = nil
        acknowledgedAt = nil
        acknowledgedUntil = nil
        acknowledgeComment = nil
    }

    init(condition: AlertCondition, catalog: Catalog, now: Date) {
        fingerprint = condition.fingerprint
        rule = condition.rule
        ruleKind = condition.ruleKind
        severity = condition.severity
        unit = condition.unit
        province = catalog.units.province(of: condition.unit)
        indicator = condition.indicator
        period = condition.period
        status = .resolved
        value = condition.value
        target = condition.target
        targetYear = condition.targetYear
        startsAt = now
        summaryVi = condition.summary.vi
        summaryEn = condition.summary.en
    }

    init(_ row: PostgresRow) throws {
        let r = row.makeRandomAccess()
        fingerprint = try r["fingerprint"].decode(String.self)
        rule = try r["rule"].decode(String.self)
        ruleKind = try r["rule_kind"].decode(String?.self).flatMap(AlertRuleKind.init(rawValue:))
        severity = AlertSeverity(rawValue: try r["severity"].decode(String.self)) ?? .warning
        unit = UnitCode(try r["unit"].decode(String.self))
        province = try r["province"].decode(String?.self).map { UnitCode($0) }
        indicator = try r["indicator"].decode(String.self)
        let periodText = try r["period"].decode(String.self)
        guard let period = Period(periodText) else { throw StoreError.invalidData("alert \(fingerprint) has period '\(periodText)'") }
        self.period = period
        status = AlertStatus(rawValue: try r["status"].decode(String.self)) ?? .resolved
        value = try r["value"].decode(String?.self).flatMap { Quantity.parse($0) }
        target = try r["target"].decode(String?.self).flatMap { Quantity.parse($0) }
        targetYear = try r["target_year"].decode(Int?.self)
        startsAt = try r["starts_at"].decode(Date.self)
        endsAt = try r["ends_at"].decode(Date?.self)
        summaryVi = try r["summary_vi"].decode(String.self)
        summaryEn = try r["summary_en"].decode(String.self)
        acknowledgedBy = try r["acknowledged_by"].decode(String?.self)
        acknowledgedAt = try r["acknowledged_at"].decode(Date?.self)
        acknowledgedUntil = try r["acknowledged_until"].decode(Date?.self)
        acknowledgeComment = try r["acknowledge_comment"].decode(String?.self)
        silenceID = try r["silence_id"].decode(Int64?.self)
    }

    var copyFields: [String?] {
        [fingerprint, rule, ruleKind?.rawValue, severity.rawValue, unit.rawValue, province?.rawValue, indicator, period.description, status.rawValue,
         value.map(\.description), target.map(\.description), targetYear.map(String.init), RFC3339.string(startsAt),
         endsAt.map(RFC3339.string), summaryVi, summaryEn, acknowledgedBy, acknowledgedAt.map(RFC3339.string),
         acknowledgedUntil.map(RFC3339.string), acknowledgeComment, silenceID.map(String.init)]
    }

    /// The public message for this alert in its current status.
    func transition(at now: Date, catalog: Catalog, silences: [Int64: Silence]) -> AlertTransition {
        var acknowledgement: AlertTransition.Acknowledgement?
        if let by = acknowledgedBy, status == .acknowledged || status == .silenced {
            acknowledgement = .init(by: by, at: acknowledgedAt ?? now, comment: acknowledgeComment, until: acknowledgedUntil)
        }
        var silence: AlertTransition.SilenceInfo?
        if status == .silenced, let id = silenceID, let found = silences[id] {
            silence = .init(id: id, by: found.createdBy, until: found.endsAt, comment: found.comment)
        }
        return AlertTransition(
            fingerprint: fingerprint, status: status, rule: rule, ruleKind: ruleKind, severity: severity,
            unit: .init(code: unit, catalog: catalog), indicator: .init(code: indicator, catalog: catalog), period: period,
            value: value, target: target, targetYear: targetYear, startsAt: startsAt, endsAt: endsAt,
            summary: .init(vi: summaryVi, en: summaryEn), acknowledgement: acknowledgement, silence: silence, at: now
        )
    }
}

/// A status change of one alert, to record and publish.
struct AlertChange: Sendable {
    var row: AlertRow
    var previous: AlertStatus?
}

/// Reading and writing alerting.alerts and recording transitions, shared by the consumer, the
/// missing-report timer and the operator actions, so every transition is made the same way: the
/// alert row, an alerting.transitions row, the dx.alerts.v1 message in the outbox and the webhook
/// notifications, all in the caller's transaction.
struct AlertStore: Sendable {
    let catalog: Catalog
    let routes: [WebhookRoute]
    let topics: TopicNames
    let source: String
    let logger: Logger
    let outbox = Outbox(schema: "alerting")
    static let webhookChannel = "alerting_webhooks"

    /// The stored alerts with these fingerprints, locked until the transaction ends. Locks are
    /// taken in fingerprint order everywhere, so two writers cannot deadlock.
    func lock(_ fingerprints: [String], on connection: PostgresConnection) async throws -> [String: AlertRow] {
        guard !fingerprints.isEmpty else { return [:] }
        var result: [String: AlertRow] = [:]
        let rows = try await connection.query("""
            SELECT \(unescaped: AlertRow.columns) FROM alerting.alerts WHERE fingerprint = ANY(\(Array(Set(fingerprints)).sorted()))
            ORDER BY fingerprint FOR UPDATE
            """, logger: logger)
        for try await row in rows {
            let alert = try AlertRow(row)
            result[alert.fingerprint] = alert
        }
        return result
    }

    /// The alerts a query selects (`SELECT \(unescaped: AlertRow.columns) FROM alerting.alerts
    /// WHERE … ORDER BY fingerprint FOR UPDATE`), decoded.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [AlertRow] {
        var result: [AlertRow] = []
        for try await row in try await connection.query(query, logger: logger) { result.append(try AlertRow(row)) }
        return result
    }

    /// Silences that have not ended by `now` (active ones and those still to start).
    func currentSilences(at now: Date, on connection: PostgresConnection) async throws -> [Silence] {
        var result: [Silence] = []
        let rows = try await connection.query("""
            SELECT id, rule, unit, starts_at, ends_at, created_by, comment FROM alerting.silences WHERE ends_at > \(now) ORDER BY id
            """, logger: logger)
        for try await (id, rule, unit, startsAt, endsAt, by, comment) in rows.decode((Int64, String, String, Date, Date, String, String?).self) {
            result.append(Silence(id: id, rule: rule, unit: UnitCode(unit), startsAt: startsAt, endsAt: endsAt, createdBy: by, comment: comment))
        }
        return result
    }

    /// Moves each alert through its lifecycle for its new condition; returns the rows to save and
    /// the transitions. A condition for an alert that was never open and is not active is nothing.
    func apply(_ conditions: [AlertCondition], stored: [String: AlertRow], silences: [Silence], now: Date) -> (rows: [AlertRow], changes: [AlertChange]) {
        var rows: [AlertRow] = []
        var changes: [AlertChange] = []
        var latest = stored
        for condition in conditions {
            let current = latest[condition.fingerprint]
            if !condition.active && !(current?.isOpen ?? false) { continue }
            var row = current ?? AlertRow(condition: condition, catalog: catalog, now: now)
            let newEpisode = !(current?.isOpen ?? false)
            let silence = Silence.muting(rule: condition.rule, unit: condition.unit, among: silences, at: now, units: catalog.units)
            let next = AlertLifecycle.next(current: current?.status, active: condition.active, silenced: silence != nil,
                                           acknowledged: !newEpisode && row.isAcknowledged(at: now))
            if condition.active {
                if newEpisode {
                    row.startsAt = now
                    row.endsAt = nil
                    row.clearAcknowledgement()
                }
                row.severity = condition.severity
                row.silenceID = silence?.id
                if !row.isAcknowledged(at: now) { row.clearAcknowledgement() }
            } else {
                row.endsAt = now
                row.silenceID = nil
            }
            row.value = condition.value
            row.target = condition.target ?? row.target
            row.targetYear = condition.targetYear ?? row.targetYear
            row.summaryVi = condition.summary.vi
            row.summaryEn = condition.summary.en
            let previous = current?.status
            if let next {
                row.status = next
                changes.append(AlertChange(row: row, previous: previous))
            }
            latest[row.fingerprint] = row
            rows.append(row)
        }
        return (rows, changes)
    }

    /// Upserts alert rows (the last one per fingerprint wins).
    func save(_ rows: [AlertRow], on connection: PostgresConnection) async throws {
        guard !rows.isEmpty else { return }
        try await StagingTable(name: "stage_alerts", columns: [
            ("fingerprint", "text"), ("rule", "text"), ("rule_kind", "text"), ("severity", "text"), ("unit", "text"), ("province", "text"),
            ("indicator", "text"), ("period", "text"), ("status", "text"), ("value", "numeric"), ("target", "numeric"), ("target_year", "int"),
            ("starts_at", "timestamptz"), ("ends_at", "timestamptz"), ("summary_vi", "text"), ("summary_en", "text"),
            ("acknowledged_by", "text"), ("acknowledged_at", "timestamptz"), ("acknowledged_until", "timestamptz"),
            ("acknowledge_comment", "text"), ("silence_id", "bigint"),
        ]).fill(rows.map(\.copyFields), on: connection, logger: logger)
        try await connection.query("""
            INSERT INTO alerting.alerts (fingerprint, rule, rule_kind, severity, unit, province, indicator, period, status, value, target, target_year,
                                         starts_at, ends_at, summary_vi, summary_en, acknowledged_by, acknowledged_at, acknowledged_until,
                                         acknowledge_comment, silence_id)
            SELECT DISTINCT ON (fingerprint) fingerprint, rule, rule_kind, severity, unit, province, indicator, period, status, value, target, target_year,
                   starts_at, ends_at, summary_vi, summary_en, acknowledged_by, acknowledged_at, acknowledged_until, acknowledge_comment, silence_id
            FROM (SELECT *, row_number() OVER () AS n FROM stage_alerts) s ORDER BY fingerprint, n DESC
            ON CONFLICT (fingerprint) DO UPDATE SET
                rule_kind = excluded.rule_kind, severity = excluded.severity, province = excluded.province, status = excluded.status,
                value = excluded.value, target = excluded.target, target_year = excluded.target_year, starts_at = excluded.starts_at,
                ends_at = excluded.ends_at, summary_vi = excluded.summary_vi, summary_en = excluded.summary_en,
                acknowledged_by = excluded.acknowledged_by, acknowledged_at = excluded.acknowledged_at,
                acknowledged_until = excluded.acknowledged_until, acknowledge_comment = excluded.acknowledge_comment,
                silence_id = excluded.silence_id, updated_at = now()
            """, logger: logger)
    }

    /// Records transitions: alerting.transitions, the dx.alerts.v1 messages in the outbox, and
    /// for transitions that are delivered (not muted by a silence) a notification per receiver
    /// that wants it. Returns the messages' ids.
    @discardableResult
    func record(_ changes: [AlertChange], silences: [Silence], now: Date, on connection: PostgresConnection) async throws -> [UUID] {
        guard !changes.isEmpty else { return [] }
        let silencesByID = Dictionary(silences.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var messages: [OutboxMessage] = []
        var delivered: [Bool] = []
        var notifications: (receivers: [String], groups: [String], ids: [UUID], payloads: [String]) = ([], [], [], [])
        let encoder = MessageCoding.encoder()
        for change in changes {
            let transition = change.row.transition(at: now, catalog: catalog, silences: silencesByID)
            let envelope = Envelope(schema: AlertTransition.schema, source: source, data: transition)
            let message = try OutboxMessage(topic: topics.alerts, key: transition.fingerprint, envelope: envelope)
            messages.append(message)
            let deliver = AlertLifecycle.isDelivered(change.row.status, previous: change.previous)
            delivered.append(deliver)
            guard deliver else { continue }
            let group = WebhookRoute.groupKey(province: change.row.province, rule: change.row.rule)
            var payload: String?
            for route in routes where route.accepts(rule: change.row.rule, unit: change.row.unit, severity: change.row.severity, units: catalog.units) {
                if payload == nil { payload = String(decoding: try encoder.encode(transition), as: UTF8.self) }
                notifications.receivers.append(route.name)
                notifications.groups.append(group)
                notifications.ids.append(message.id)
                notifications.payloads.append(payload!)
            }
        }
        try await connection.query("""
            INSERT INTO alerting.transitions (fingerprint, status, previous_status, value, message_id, delivered)
            SELECT fingerprint, status, NULLIF(previous, ''), NULLIF(value, '')::numeric, message_id, delivered
            FROM unnest(\(changes.map(\.row.fingerprint))::text[], \(changes.map(\.row.status.rawValue))::text[],
                        \(changes.map { $0.previous?.rawValue ?? "" })::text[], \(changes.map { $0.row.value.map(\.description) ?? "" })::text[],
                        \(messages.map(\.id))::uuid[], \(delivered)::boolean[])
                AS t(fingerprint, status, previous, value, message_id, delivered)
            """, logger: logger)
        try await outbox.enqueue(messages, on: connection, logger: logger)
        if !notifications.ids.isEmpty {
            try await connection.query("""
                INSERT INTO alerting.webhook_notifications (receiver, group_key, message_id, payload, created_at)
                SELECT r, g, m, p, \(now) FROM unnest(\(notifications.receivers)::text[], \(notifications.groups)::text[], \(notifications.ids)::uuid[],
                                     \(notifications.payloads)::text[]) AS n(r, g, m, p)
                """, logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_notify('\(Self.webhookChannel)', '')"), logger: logger)
        }
        return messages.map(\.id)
    }
}
