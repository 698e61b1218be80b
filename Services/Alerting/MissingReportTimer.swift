import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The missing-report rules: no message announces that nothing arrived, so a timer looks. Every
/// `interval` it asks, at its clock's time, which expected unit has no value for a rule's data
/// element in a period whose due date has passed (reporting.cell_values), fires an alert for
/// each, and resolves those whose data has arrived since.
public final class MissingReportTimer: Service, Sendable {
    private let rules: [AlertRule]
    private let catalog: Catalog
    private let store: AlertStore
    private let database: Database
    private let clock: any AlertClock
    private let interval: Duration
    private let logger: Logger
    private let wake = WakeSignal()
    private let checks = Counter(label: "dx_alerts_missing_report_checks_total")

    init(rules: [AlertRule], catalog: Catalog, store: AlertStore, database: Database, clock: any AlertClock, interval: Duration, logger: Logger) {
        self.rules = rules.filter { $0.kind == .missingReport }
        self.catalog = catalog
        self.store = store
        self.database = database
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard !rules.isEmpty else {
            logger.info("no missing-report rules; the timer is idle")
            try? await gracefulShutdown()
            return
        }
        let loop = PassLoop(channel: nil, pollInterval: interval, database: database, clock: clock, wake: wake,
                            logger: logger, name: "missing-report check")
        await loop.run {
            try await self.check()
            return nil
        }
    }

    /// One pass at the clock's current time; returns the transitions it made.
    @discardableResult
    public func check() async throws -> Int {
        let now = clock.now()
        let rules = self.rules
        let catalog = self.catalog
        let store = self.store
        let logger = self.logger
        let count = try await database.withTransaction { connection -> Int in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('alerting.lifecycle'))", logger: logger)
            var total = 0
            for rule in rules {
                let periods = MissingReportSchedule.duePeriods(rule, now: now)
                let elements = rule.elements ?? []
                var expected: [String: (UnitCode, String, Period)] = [:]
                for period in periods {
                    for unit in MissingReportSchedule.expectedUnits(rule, period: period, catalog: catalog) {
                        for element in elements {
                            expected[AlertFingerprint.make(rule: rule.code, unit: unit, indicator: element, period: period)] = (unit, element, period)
                        }
                    }
                }
                var present = Set<String>()
                if !periods.isEmpty {
                    let rows = try await connection.query("""
                        SELECT unit_code, period, element_code FROM reporting.cell_values
                        WHERE element_code = ANY(\(elements)) AND period = ANY(\(periods.map(\.description)))
                        """, logger: logger)
                    for try await (unit, periodText, element) in rows.decode((String, String, String).self) {
                        guard let period = Period(periodText) else { continue }
                        present.insert(AlertFingerprint.make(rule: rule.code, unit: UnitCode(unit), indicator: element, period: period))
                    }
                }
                let open = try await store.rows("""
                    SELECT \(unescaped: AlertRow.columns) FROM alerting.alerts WHERE rule = \(rule.code) AND status <> 'resolved'
                    ORDER BY fingerprint FOR UPDATE
                    """, on: connection)
                var conditions: [AlertCondition] = []
                var openFingerprints = Set<String>()
                for alert in open {
                    openFingerprints.insert(alert.fingerprint)
                    if expected[alert.fingerprint] == nil || present.contains(alert.fingerprint) {
                        conditions.append(MissingReportSchedule.condition(rule, unit: alert.unit, element: alert.indicator, period: alert.period,
                                                                          present: true, catalog: catalog))
                    }
                }
                for (fingerprint, (unit, element, period)) in expected where !present.contains(fingerprint) && !openFingerprints.contains(fingerprint) {
                    conditions.append(MissingReportSchedule.condition(rule, unit: unit, element: element, period: period, present: false, catalog: catalog))
                }
                guard !conditions.isEmpty else { continue }
                conditions.sort { $0.fingerprint < $1.fingerprint }
                var stored = Dictionary(open.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
                let fresh = conditions.filter { $0.active }.map(\.fingerprint)
                for (fingerprint, row) in try await store.lock(fresh, on: connection) { stored[fingerprint] = row }
                let silences = try await store.currentSilences(at: now, on: connection)
                let (rows, changes) = store.apply(conditions, stored: stored, silences: silences, now: now)
                try await store.save(rows, on: connection)
                try await store.record(changes, silences: silences, now: now, on: connection)
                total += changes.count
            }
            return total
        }
        checks.increment()
        if count > 0 { logger.info("missing-report transitions", metadata: ["count": "\(count)"]) }
        return count
    }
}
