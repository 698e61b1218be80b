import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Operators act through the database, dx-alerts publishes: `dx alerts ack` and `dx alerts
/// silence` only insert a row (alerting.acknowledgements, alerting.silences) and NOTIFY; this
/// service applies it to the alerts and records the transitions (acknowledged, silenced) through
/// the outbox like every other. It also ends what expires — an acknowledgement's `until`, a
/// silence's end — returning the alert to firing (or acknowledged) at that instant. Woken by
/// LISTEN, by its next expiry, and by polling as the fallback.
public final class AlertOperations: Service, Sendable {
    public static let channel = "alerting_operations"

    private let catalog: Catalog
    private let store: AlertStore
    private let database: Database
    private let clock: any AlertClock
    private let pollInterval: Duration
    private let logger: Logger
    private let wake = WakeSignal()
    private let applied = Counter(label: "dx_alerts_operator_actions_total")

    init(catalog: Catalog, store: AlertStore, database: Database, clock: any AlertClock, pollInterval: Duration, logger: Logger) {
        self.catalog = catalog
        self.store = store
        self.database = database
        self.clock = clock
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let loop = PassLoop(channel: Self.channel, pollInterval: pollInterval, database: database, clock: clock, wake: wake,
                            logger: logger, name: "applying operator actions")
        await loop.run { try await self.process().nextExpiry }
    }

    /// One pass at the clock's time: pending acknowledgements and silences, then expiries.
    /// Returns the transitions made and when the next expiry is due.
    @discardableResult
    public func process() async throws -> (transitions: Int, nextExpiry: Date?) {
        let now = clock.now()
        let store = self.store
        let catalog = self.catalog
        let logger = self.logger
        let result = try await database.withTransaction { connection -> (Int, Int, Date?) in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('alerting.lifecycle'))", logger: logger)
            // Silences to apply first, then all current ones: each statement sees what committed
            // before it, so a silence given meanwhile is in the second list and waits for the next pass.
            var newlyApplied: [Int64] = []
            for try await id in try await connection.query("""
                SELECT id FROM alerting.silences WHERE applied_at IS NULL AND starts_at <= \(now) ORDER BY id FOR UPDATE
                """, logger: logger).decode(Int64.self) { newlyApplied.append(id) }
            let silences = try await store.currentSilences(at: now, on: connection)
            var candidates: [String: AlertRow] = [:]

            // Acknowledgements, in the order operators gave them.
            var acknowledgements: [(id: Int64, fingerprint: String, by: String, comment: String?, until: Date?, at: Date)] = []
            for try await row in try await connection.query("""
                SELECT id, fingerprint, created_by, comment, until, created_at FROM alerting.acknowledgements
                WHERE applied_at IS NULL ORDER BY id FOR UPDATE
                """, logger: logger).decode((Int64, String, String, String?, Date?, Date).self) {
                acknowledgements.append((row.0, row.1, row.2, row.3, row.4, row.5))
            }
            var outcomes: (ids: [Int64], texts: [String]) = ([], [])
            if !acknowledgements.isEmpty {
                let rows = try await store.lock(acknowledgements.map(\.fingerprint), on: connection)
                for ack in acknowledgements {
                    var outcome = "acknowledged"
                    if var row = candidates[ack.fingerprint] ?? rows[ack.fingerprint] {
                        if !row.isOpen {
                            outcome = "not applied: the alert is resolved"
                        } else if let until = ack.until, until <= now {
                            outcome = "not applied: it expired before it was applied"
                        } else {
                            row.acknowledgedBy = ack.by
                            row.acknowledgedAt = ack.at
                            row.acknowledgedUntil = ack.until
                            row.acknowledgeComment = ack.comment
                        }
                        candidates[ack.fingerprint] = row
                    } else {
                        outcome = "not applied: no alert has this fingerprint"
                    }
                    outcomes.ids.append(ack.id)
                    outcomes.texts.append(outcome)
                }
                try await connection.query("""
                    UPDATE alerting.acknowledgements a SET applied_at = \(now), outcome = o.outcome
                    FROM unnest(\(outcomes.ids)::bigint[], \(outcomes.texts)::text[]) AS o(id, outcome) WHERE a.id = o.id
                    """, logger: logger)
            }

            // Silences that start now: every open alert they match.
            let starting = silences.filter { $0.isActive(at: now) }
            let fresh = starting.filter { newlyApplied.contains($0.id) }
            if !fresh.isEmpty {
                let rules = fresh.contains { $0.rule == Silence.anyRule } ? nil : Array(Set(fresh.map(\.rule))).sorted()
                let matching = try await store.rows("""
                    SELECT \(unescaped: AlertRow.columns) FROM alerting.alerts
                    WHERE status IN ('firing', 'acknowledged') AND (\(rules == nil) OR rule = ANY(\(rules ?? [])))
                    ORDER BY fingerprint FOR UPDATE
                    """, on: connection)
                for row in matching where fresh.contains(where: { $0.matches(rule: row.rule, unit: row.unit, units: catalog.units) }) {
                    candidates[row.fingerprint] = candidates[row.fingerprint] ?? row
                }
            }
            if !newlyApplied.isEmpty {
                try await connection.query("UPDATE alerting.silences SET applied_at = \(now) WHERE id = ANY(\(newlyApplied))", logger: logger)
            }

            // Expiries: silences that ended (or were lifted), acknowledgements past their `until`.
            let activeIDs = starting.map(\.id)
            let expired = try await store.rows("""
                SELECT \(unescaped: AlertRow.columns) FROM alerting.alerts
                WHERE (status = 'silenced' AND (silence_id IS NULL OR NOT silence_id = ANY(\(activeIDs))))
                   OR (status = 'acknowledged' AND acknowledged_until <= \(now))
                ORDER BY fingerprint FOR UPDATE
                """, on: connection)
            for row in expired { candidates[row.fingerprint] = candidates[row.fingerprint] ?? row }

            // Each candidate's status from its acknowledgement and the silences now.
            var rows: [AlertRow] = []
            var changes: [AlertChange] = []
            for var row in candidates.values.sorted(by: { $0.fingerprint < $1.fingerprint }) where row.isOpen {
                let previous = row.status
                if !row.isAcknowledged(at: now) { row.clearAcknowledgement() }
                let silence = Silence.muting(rule: row.rule, unit: row.unit, among: silences, at: now, units: catalog.units)
                row.silenceID = silence?.id
                row.status = AlertLifecycle.openStatus(silenced: silence != nil, acknowledged: row.isAcknowledged(at: now))
                rows.append(row)
                if row.status != previous { changes.append(AlertChange(row: row, previous: previous)) }
            }
            try await store.save(rows, on: connection)
            try await store.record(changes, silences: silences, now: now, on: connection)

            // The next instant something expires or starts.
            var next: [Date] = silences.flatMap { [$0.startsAt, $0.endsAt] }.filter { $0 > now }
            for try await until in try await connection.query("""
                SELECT min(acknowledged_until) FROM alerting.alerts WHERE status = 'acknowledged' AND acknowledged_until > \(now)
                """, logger: logger).decode(Date?.self) {
                if let until { next.append(until) }
            }
            return (changes.count, acknowledgements.count + newlyApplied.count, next.min())
        }
        if result.1 > 0 { applied.increment(by: result.1) }
        if result.0 > 0 { logger.info("operator transitions", metadata: ["count": "\(result.0)"]) }
        return (result.0, result.2)
    }
}
