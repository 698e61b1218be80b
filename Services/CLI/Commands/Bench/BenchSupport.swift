import DXStore
import Foundation
import PostgresNIO

/// A process's memory as Linux reports it in /proc/PID/status, for the benches' peak-memory lines.
struct ProcessMemory {
    /// Peak resident set (VmHWM), in bytes.
    var peak: Int
    /// Resident set now (VmRSS), in bytes.
    var resident: Int

    init?(pid: Int32) {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        func kilobytes(_ key: String) -> Int? {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
            return line.split(separator: " ").compactMap { Int($0) }.first
        }
        guard let peak = kilobytes("VmHWM"), let resident = kilobytes("VmRSS") else { return nil }
        self.peak = peak * 1024
        self.resident = resident * 1024
    }
}

/// Delays in milliseconds, summarised the way every bench prints them.
struct Delays {
    let sorted: [Double]

    init(_ values: [Double]) { sorted = values.sorted() }

    /// The nearest-rank percentile (`p` in 0…1).
    func percentile(_ p: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// Waits until PostgreSQL has no autovacuum worker running (at most `limit`), then checkpoints,
/// so a timed run does not pay for the rows the run before it wrote (autovacuum visiting them, a
/// checkpoint writing them out) and the `COPY` baseline does not pay for dx-ingest's runs.
func settle(_ db: Database, limit: Duration = .seconds(120)) async throws {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < limit {
        var running = 0
        for try await count in try await db.query("SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'").decode(Int.self) {
            running = count
        }
        if running == 0 { break }
        try await Task.sleep(for: .milliseconds(200))
    }
    let waited = (ContinuousClock.now - start).seconds
    if waited >= 1 { printError("  waited \(String(format: "%.1f", waited)) s for autovacuum to finish before the next timed run") }
    do {
        try await db.query("CHECKPOINT")
    } catch {
        throw CLIError("the bench checkpoints before each timed run and could not: \(error.postgresDescription) (give it a superuser's database URL)")
    }
}

/// The physical limit the benches print next to their own numbers: one COPY into a fresh scratch
/// table of `definition` (a real, logged table, with whatever key the definition gives it),
/// dropped afterwards, started on a settled PostgreSQL (`settle`); only `copy` is timed.
func timedScratchCopy(table: String, definition: String, db: Database,
                      copy: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws -> Double {
    try await db.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS public.\(table)"))
    try await db.query(PostgresQuery(unsafeSQL: "CREATE TABLE public.\(table) (\(definition))"))
    do {
        try await settle(db)
        let start = ContinuousClock.now
        try await db.withConnection { try await copy($0) }
        let seconds = (ContinuousClock.now - start).seconds
        printError("  COPY into \(table): \(String(format: "%.2f", seconds)) s")
        try await db.query(PostgresQuery(unsafeSQL: "DROP TABLE public.\(table)"))
        return seconds
    } catch {
        _ = try? await db.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS public.\(table)"))
        throw error
    }
}
