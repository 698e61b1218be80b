import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Applies `dx.indicator-values.v1` batches: records each value in the unit's history
/// (alerting.indicator_history), judges it — and the later periods whose trend, previous value
/// or history it is part of — by every value rule, and moves each alert through its lifecycle,
/// all in the batch's transaction. Transitions go to dx.alerts.v1 through the outbox, so a batch
/// applied once publishes once, whatever crashes.
final class AlertHandler: TransactionalBatchHandler {
    typealias Payload = IndicatorValueBatch
    let schema = IndicatorValueBatch.schema

    private let catalog: Catalog
    private let evaluator: AlertEvaluator
    private let store: AlertStore
    private let clock: any AlertClock
    private let logger: Logger
    private let evaluated: Counter
    private let changesCounter: Counter
    private let transitionsCounter: Counter

    init(catalog: Catalog, rules: [AlertRule], store: AlertStore, clock: any AlertClock, logger: Logger) {
        self.catalog = catalog
        self.evaluator = AlertEvaluator(rules: rules, catalog: catalog)
        self.store = store
        self.clock = clock
        self.logger = logger
        self.changesCounter = Counter(label: "dx_alerts_values_evaluated_total")
        self.evaluated = Counter(label: "dx_alerts_conditions_evaluated_total")
        self.transitionsCounter = Counter(label: "dx_alerts_transitions_total")
    }

    private struct SeriesKey: Hashable {
        var unit: UnitCode
        var indicator: String
    }

    private struct PointKey: Hashable {
        var series: SeriesKey
        var period: Period
    }

    func apply(_ messages: [ConsumedMessage<IndicatorValueBatch>], connection: PostgresConnection) async throws {
        var changes: [IndicatorValueChange] = []
        for message in messages {
            for change in message.envelope.data.values {
                guard catalog.units[change.unit] != nil else { throw InvalidMessage("unit \(change.unit) is not in the catalog") }
                guard catalog.indicators[change.indicator] != nil else { throw InvalidMessage("indicator \(change.indicator) is not in the catalog") }
                changes.append(change)
            }
        }
        guard !changes.isEmpty else { return }
        let now = clock.now()

        // The unit's own history of each indicator touched, with this batch's values applied in order.
        var series = try await loadHistory(Set(changes.map { SeriesKey(unit: $0.unit, indicator: $0.indicator) }), connection: connection)
        var touched: [PointKey] = []
        var seenTouched = Set<PointKey>()
        for change in changes {
            let key = SeriesKey(unit: change.unit, indicator: change.indicator)
            series[key, default: [:]][change.period] = SeriesPoint(change)
            let point = PointKey(series: key, period: change.period)
            if seenTouched.insert(point).inserted { touched.append(point) }
        }
        try await saveHistory(touched, series: series, connection: connection)

        // Judge each touched value and the later periods that depend on it.
        let lookback = evaluator.lookback
        var judged = Set<PointKey>()
        var conditions: [AlertCondition] = []
        for point in touched {
            let points = series[point.series] ?? [:]
            var targets = [point.period]
            for other in points.keys where other.type == point.period.type {
                let distance = other.ordinal - point.period.ordinal
                if distance > 0 && distance <= lookback { targets.append(other) }
            }
            let sameType = points.values.filter { $0.period.type == point.period.type }
            for period in targets.sorted() where judged.insert(PointKey(series: point.series, period: period)).inserted {
                conditions += evaluator.evaluate(unit: point.series.unit, indicator: point.series.indicator, period: period, series: sameType)
            }
        }
        changesCounter.increment(by: changes.count)
        evaluated.increment(by: conditions.count)

        // Only fingerprints that are active now or may be open need their stored alert.
        let stored = try await store.lock(conditions.map(\.fingerprint), on: connection)
        let relevant = conditions.filter { $0.active || stored[$0.fingerprint]?.isOpen == true }
        guard !relevant.isEmpty else { return }
        let silences = try await store.currentSilences(at: now, on: connection)
        let (rows, transitions) = store.apply(relevant, stored: stored, silences: silences, now: now)
        try await store.save(rows, on: connection)
        try await store.record(transitions, silences: silences, now: now, on: connection)
        if !transitions.isEmpty {
            transitionsCounter.increment(by: transitions.count)
            logger.info("alert transitions", metadata: ["count": "\(transitions.count)", "values": "\(changes.count)"])
        }
    }

    private func loadHistory(_ keys: Set<SeriesKey>, connection: PostgresConnection) async throws -> [SeriesKey: [Period: SeriesPoint]] {
        let ordered = keys.sorted { ($0.unit, $0.indicator) < ($1.unit, $1.indicator) }
        var result: [SeriesKey: [Period: SeriesPoint]] = [:]
        let rows = try await connection.query("""
            SELECT h.unit, h.indicator, h.period, h.value::text, h.numerator::text, h.denominator::text, h.target::text, h.target_year,
                   h.gap::text, h.meets_target, h.completeness::text
            FROM alerting.indicator_history h
            JOIN unnest(\(ordered.map(\.unit.rawValue))::text[], \(ordered.map(\.indicator))::text[]) AS k(unit, indicator)
              ON h.unit = k.unit AND h.indicator = k.indicator
            """, logger: logger)
        for try await row in rows.decode((String, String, String, String, String?, String?, String?, Int?, String?, Bool?, String?).self) {
            guard let period = Period(row.2), let value = Quantity.parse(row.3) else { continue }
            let point = SeriesPoint(period: period, value: value, numerator: row.4.flatMap { Quantity.parse($0) }, denominator: row.5.flatMap { Quantity.parse($0) },
                                    target: row.6.flatMap { Quantity.parse($0) }, targetYear: row.7, gap: row.8.flatMap { Quantity.parse($0) },
                                    meetsTarget: row.9, completeness: row.10.flatMap { Quantity.parse($0) })
            result[SeriesKey(unit: UnitCode(row.0), indicator: row.1), default: [:]][period] = point
        }
        return result
    }

    private func saveHistory(_ touched: [PointKey], series: [SeriesKey: [Period: SeriesPoint]], connection: PostgresConnection) async throws {
        var upserts: [[String?]] = []
        var deletes: (units: [String], indicators: [String], types: [String], ordinals: [Int]) = ([], [], [], [])
        for key in touched {
            if let point = series[key.series]?[key.period] {
                upserts.append([key.series.unit.rawValue, key.series.indicator, key.period.description, key.period.type.rawValue, String(key.period.ordinal),
                                point.value.description, point.numerator.map(\.description), point.denominator.map(\.description),
                                point.target.map(\.description), point.targetYear.map(String.init), point.gap.map(\.description),
                                point.meetsTarget.map { $0 ? "t" : "f" }, point.completeness.map(\.description)])
            } else {
                deletes.units.append(key.series.unit.rawValue)
                deletes.indicators.append(key.series.indicator)
                deletes.types.append(key.period.type.rawValue)
                deletes.ordinals.append(key.period.ordinal)
            }
        }
        if !upserts.isEmpty {
            try await StagingTable(name: "stage_history", columns: [
                ("unit", "text"), ("indicator", "text"), ("period", "text"), ("period_type", "text"), ("ordinal", "int"), ("value", "numeric"),
                ("numerator", "numeric"), ("denominator", "numeric"), ("target", "numeric"), ("target_year", "int"), ("gap", "numeric"),
                ("meets_target", "boolean"), ("completeness", "numeric"),
            ]).fill(upserts, on: connection, logger: logger)
            try await connection.query("""
                INSERT INTO alerting.indicator_history (unit, indicator, period, period_type, ordinal, value, numerator, denominator, target, target_year,
                                                        gap, meets_target, completeness)
                SELECT unit, indicator, period, period_type, ordinal, value, numerator, denominator, target, target_year, gap, meets_target, completeness
                FROM stage_history
                ON CONFLICT (unit, indicator, period_type, ordinal) DO UPDATE SET
                    period = excluded.period, value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
                    target = excluded.target, target_year = excluded.target_year, gap = excluded.gap, meets_target = excluded.meets_target,
                    completeness = excluded.completeness, updated_at = now()
                """, logger: logger)
        }
        if !deletes.units.isEmpty {
            try await connection.query("""
                DELETE FROM alerting.indicator_history h
                USING unnest(\(deletes.units)::text[], \(deletes.indicators)::text[], \(deletes.types)::text[], \(deletes.ordinals)::int[])
                    AS d(unit, indicator, period_type, ordinal)
                WHERE h.unit = d.unit AND h.indicator = d.indicator AND h.period_type = d.period_type AND h.ordinal = d.ordinal
                """, logger: logger)
        }
    }
}
