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

/// The physical limit the benches print next to their own numbers: COPY into a fresh scratch
/// table of `definition` (a real, logged table, with whatever key the definition gives it). Each
/// of `runs` runs gets a new table, dropped afterwards, and only `copy` is timed; the fastest
/// counts, so a checkpoint during one run does not lower the limit.
func timedScratchCopy(table: String, definition: String, runs: Int = 1, db: Database,
                      copy: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws -> Double {
    var fastest = Double.infinity
    for _ in 0..<runs {
        try await db.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS public.\(table)"))
        try await db.query(PostgresQuery(unsafeSQL: "CREATE TABLE public.\(table) (\(definition))"))
        do {
            let start = ContinuousClock.now
            try await db.withConnection { try await copy($0) }
            fastest = min(fastest, (ContinuousClock.now - start).seconds)
            try await db.query(PostgresQuery(unsafeSQL: "DROP TABLE public.\(table)"))
        } catch {
            _ = try? await db.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS public.\(table)"))
            throw error
        }
    }
    return fastest
}
