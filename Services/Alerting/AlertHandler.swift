import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Applies `dx.indicator-values.v1` batches to the alerts: evaluates the rules on each changed
/// value, moves each alert through its lifecycle (firing → resolved), and publishes every
/// transition once through the outbox, in the batch's transaction.
final class AlertHandler: TransactionalBatchHandler {
    typealias Payload = IndicatorValueBatch
    let schema = IndicatorValueBatch.schema

    private let catalog: Catalog
    private let belowTarget = BelowTargetRule()
    private let outbox = Outbox(schema: "alerting")
    private let logger: Logger
    private let source: String
    private let topics: TopicNames
    private let evaluated: Counter
    private let transitionsCounter: Counter

    init(catalog: Catalog, source: String, topics: TopicNames, logger: Logger) {
        self.topics = topics
        self.catalog = catalog
        self.logger = logger
        self.source = source
        self.evaluated = Counter(label: "dx_alerts_values_evaluated_total")
        self.transitionsCounter = Counter(label: "dx_alerts_transitions_total")
    }

    private struct Stored {
        var status: AlertStatus
        var startsAt: Date
    }

    func apply(_ messages: [ConsumedMessage<IndicatorValueBatch>], connection: PostgresConnection) async throws {
        var conditions: [AlertCondition] = []
        for message in messages {
            for change in message.envelope.data.values {
                guard catalog.units[change.unit] != nil else {
                    throw InvalidMessage("unit \(change.unit) is not in the catalog")
                }
                if let condition = belowTarget.evaluate(change, catalog: catalog) { conditions.append(condition) }
            }
        }
        evaluated.increment(by: conditions.count)
        guard !conditions.isEmpty else { return }

        var stored: [String: Stored] = [:]
        let fingerprints = Array(Set(conditions.map(\.fingerprint))).sorted()
        for try await (fingerprint, status, startsAt) in try await connection.query("""
            SELECT fingerprint, status, starts_at FROM alerting.alerts WHERE fingerprint = ANY(\(fingerprints)) ORDER BY fingerprint FOR UPDATE
            """, logger: logger).decode((String, String, Date).self) {
            stored[fingerprint] = Stored(status: AlertStatus(rawValue: status) ?? .resolved, startsAt: startsAt)
        }

        let now = Date()
        var transitions: [AlertTransition] = []
        var rows: [[String?]] = []
        for condition in conditions {
            let current = stored[condition.fingerprint]
            let isOpen = current.map { $0.status != .resolved } ?? false
            var transition: AlertStatus?
            var startsAt = current?.startsAt ?? now
            if condition.active && !isOpen {
                transition = .firing
                startsAt = now
            } else if !condition.active && isOpen {
                transition = .resolved
            } else if !condition.active {
                continue
            }
            let status = transition ?? current!.status
            stored[condition.fingerprint] = Stored(status: status, startsAt: startsAt)
            let endsAt: Date? = status == .resolved ? now : nil
            rows.append([condition.fingerprint, condition.rule, condition.severity.rawValue, condition.unit.rawValue, condition.indicator,
                         condition.period.description, status.rawValue, condition.value.map(ExactDecimal.string), condition.target.map(ExactDecimal.string),
                         RFC3339.string(startsAt), endsAt.map(RFC3339.string), condition.summary.vi, condition.summary.en])
            if let transition, let indicator = catalog.indicators[condition.indicator] {
                transitions.append(AlertTransition(
                    fingerprint: condition.fingerprint, status: transition, rule: condition.rule, severity: condition.severity,
                    unit: .init(code: condition.unit, catalog: catalog),
                    indicator: .init(code: indicator.code, nameVi: indicator.nameVi, nameEn: indicator.nameEn),
                    period: condition.period, value: condition.value, target: condition.target, targetYear: condition.targetYear,
                    startsAt: startsAt, endsAt: endsAt, summary: condition.summary
                ))
            }
        }

        if !rows.isEmpty {
            try await StagingTable(name: "stage_alerts", columns: [
                ("fingerprint", "text"), ("rule", "text"), ("severity", "text"), ("unit", "text"), ("indicator", "text"), ("period", "text"),
                ("status", "text"), ("value", "numeric"), ("target", "numeric"), ("starts_at", "timestamptz"), ("ends_at", "timestamptz"),
                ("summary_vi", "text"), ("summary_en", "text"),
            ]).fill(rows, on: connection, logger: logger)
            // The last row per fingerprint is its state after the batch.
            try await connection.query("""
                INSERT INTO alerting.alerts (fingerprint, rule, severity, unit, indicator, period, status, value, target, starts_at, ends_at, summary_vi, summary_en)
                SELECT DISTINCT ON (fingerprint) fingerprint, rule, severity, unit, indicator, period, status, value, target, starts_at, ends_at, summary_vi, summary_en
                FROM (SELECT *, row_number() OVER () AS n FROM stage_alerts) s ORDER BY fingerprint, n DESC
                ON CONFLICT (fingerprint) DO UPDATE SET
                    severity = excluded.severity, status = excluded.status, value = excluded.value, target = excluded.target,
                    starts_at = excluded.starts_at, ends_at = excluded.ends_at, summary_vi = excluded.summary_vi,
                    summary_en = excluded.summary_en, updated_at = now()
                """, logger: logger)
        }
        guard !transitions.isEmpty else { return }
        var messages: [OutboxMessage] = []
        for transition in transitions {
            let envelope = Envelope(schema: AlertTransition.schema, source: source, data: transition)
            messages.append(try OutboxMessage(topic: topics.alerts, key: transition.fingerprint, envelope: envelope))
        }
        try await connection.query("""
            INSERT INTO alerting.transitions (fingerprint, status, value, message_id)
            SELECT fingerprint, status, NULLIF(value, '')::numeric, message_id
            FROM unnest(\(transitions.map(\.fingerprint))::text[], \(transitions.map(\.status.rawValue))::text[],
                        \(transitions.map { $0.value.map(ExactDecimal.string) ?? "" })::text[], \(messages.map(\.id))::uuid[])
                AS t(fingerprint, status, value, message_id)
            """, logger: logger)
        try await outbox.enqueue(messages, on: connection, logger: logger)
        transitionsCounter.increment(by: transitions.count)
        logger.info("alert transitions", metadata: ["count": "\(transitions.count)"])
    }
}
