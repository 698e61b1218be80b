import DXStore
import Foundation
import Logging
import PostgresNIO

/// The "just PostgreSQL" alternative a user might write instead of dx-indicators: the raw
/// observations in one table and the same ratio indicators as a materialized view (communes,
/// provinces and the country; months, quarters and years), refreshed after each batch. What it
/// costs is the time from a batch's insert to fresh results, which grows with the data.
struct MaterializedViewBaseline {
    struct Result {
        /// Seconds of one REFRESH over the whole load (median of three).
        var refreshSeconds: Double
        /// Seconds from a batch's INSERT to fresh results (insert + refresh), median of three.
        var batchToFreshSeconds: Double
        var batchRows: Int
        var indicatorRows: Int
        var observationsPerSecond: Double { Double(batchRows) / batchToFreshSeconds }
    }

    let db: Database
    let logger: Logger

    /// `rows` as the engine bench builds them: unit, period, element, report id, revision,
    /// sequence, value, province. The last three batches of `batchRows` are held back and
    /// inserted one at a time, each followed by a refresh.
    func measure(rows: [[String?]], batchRows: Int) async throws -> Result {
        let table = "bench_mv_observations", view = "bench_mv_indicators"
        try await db.query("DROP MATERIALIZED VIEW IF EXISTS \(unescaped: view)")
        try await db.query("DROP TABLE IF EXISTS \(unescaped: table)")
        try await db.query("CREATE TABLE \(unescaped: table) (unit text NOT NULL, period text NOT NULL, element text NOT NULL, value numeric NOT NULL, province text NOT NULL)")
        let held = min(3 * batchRows, rows.count / 2)
        let loaded = rows.dropLast(held), batch = rows.suffix(held)
        try await copy(loaded, into: table)
        try await db.query("ANALYZE \(unescaped: table)")
        try await db.query("""
            CREATE MATERIALIZED VIEW \(unescaped: view) AS
            WITH monthly AS (
                SELECT unit, period, element, sum(value) AS value FROM \(unescaped: table) GROUP BY unit, period, element
                UNION ALL
                SELECT province, period, element, sum(value) FROM \(unescaped: table) GROUP BY province, period, element
                UNION ALL
                SELECT 'VN', period, element, sum(value) FROM \(unescaped: table) GROUP BY period, element
            ), every_period AS (
                SELECT unit, period, element, value FROM monthly
                UNION ALL
                SELECT unit, left(period, 4) || '-Q' || ((substr(period, 6, 2)::int + 2) / 3), element, sum(value) FROM monthly
                GROUP BY unit, left(period, 4) || '-Q' || ((substr(period, 6, 2)::int + 2) / 3), element
                UNION ALL
                SELECT unit, left(period, 4), element, sum(value) FROM monthly GROUP BY unit, left(period, 4), element
            )
            SELECT n.unit, n.period, i.code AS indicator, n.value AS numerator, d.value AS denominator,
                   round(coalesce(i.factor, 1) * n.value / d.value, 10) AS value
            FROM catalog.indicators i
            JOIN every_period n ON n.element = i.numerator
            JOIN every_period d ON d.element = i.denominator AND d.unit = n.unit AND d.period = n.period
            WHERE i.kind = 'ratio' AND d.value > 0
            """)
        var refreshes: [Double] = []
        for _ in 0..<3 {
            let start = ContinuousClock.now
            try await db.query("REFRESH MATERIALIZED VIEW \(unescaped: view)")
            refreshes.append((ContinuousClock.now - start).seconds)
        }
        // A batch: its rows inserted (COPY, the fastest way in), then the refresh.
        var batches: [Double] = []
        let parts = Array(batch).chunked(into: max(1, min(batchRows, held)))
        for part in parts {
            let start = ContinuousClock.now
            try await copy(part[...], into: table)
            try await db.query("REFRESH MATERIALIZED VIEW \(unescaped: view)")
            batches.append((ContinuousClock.now - start).seconds)
        }
        var indicatorRows = 0
        for try await count in try await db.query("SELECT count(*)::int FROM \(unescaped: view)").decode(Int.self) { indicatorRows = count }
        try await db.query("DROP MATERIALIZED VIEW \(unescaped: view)")
        try await db.query("DROP TABLE \(unescaped: table)")
        return Result(refreshSeconds: refreshes.sorted()[1], batchToFreshSeconds: batches.sorted()[batches.count / 2],
                      batchRows: parts.first?.count ?? 0, indicatorRows: indicatorRows)
    }

    private func copy(_ rows: ArraySlice<[String?]>, into table: String) async throws {
        // unit, period, element, …, value (index 6), province (index 7)
        let picked = rows.map { [$0[0], $0[1], $0[2], $0[6], $0[7]] }
        try await db.withConnection { connection in
            try await connection.copy(picked, into: table, columns: ["unit", "period", "element", "value", "province"], logger: logger)
        }
    }
}

extension Array {
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
