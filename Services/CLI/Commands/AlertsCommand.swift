import ArgumentParser
import DXModel
import DXStore
import Foundation

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List alerts.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alerts, newest first.")

        @Flag(help: "Only open alerts (firing or acknowledged).")
        var open = false
        @Option(help: "Only this unit and the units under it.")
        var unit: String?
        @Option(help: "Only this severity or worse (info, warning, critical).")
        var severity: String?
        @Option(help: "At most this many alerts.")
        var limit = 100
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (open, unit, limit) = (self.open, self.unit, self.limit)
            let minimum = try severity.map { text -> AlertSeverity in
                guard let value = AlertSeverity(rawValue: text) else { throw ValidationError("severity must be info, warning or critical") }
                return value
            }
            let severities = AlertSeverity.allCases.filter { $0 >= (minimum ?? .info) }.map(\.rawValue)
            let logger = database.logger
            let rows = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                var units: [String]? = nil
                if let unit {
                    var codes: [String] = []
                    for try await code in try await db.query("""
                        WITH RECURSIVE sub(code) AS (SELECT code FROM catalog.units WHERE code = \(unit)
                            UNION ALL SELECT u.code FROM catalog.units u JOIN sub ON u.parent = sub.code)
                        SELECT code FROM sub
                        """).decode(String.self) { codes.append(code) }
                    units = codes
                }
                var result: [[String]] = []
                for try await row in try await db.query("""
                    SELECT fingerprint, status, severity, rule, unit, period, summary_vi, starts_at
                    FROM alerting.alerts
                    WHERE (\(!open) OR status IN ('firing', 'acknowledged'))
                      AND (\(units == nil) OR unit = ANY(\(units ?? [])))
                      AND severity = ANY(\(severities))
                    ORDER BY starts_at DESC, fingerprint LIMIT \(limit)
                    """).decode((String, String, String, String, String, String, String, Date).self) {
                    result.append([row.0, row.1, row.2, row.3, row.4, row.5, RFC3339.string(row.7), row.6])
                }
                return result
            }
            print(rows.isEmpty ? "no alerts" : TextTable.render(header: ["fingerprint", "status", "severity", "rule", "unit", "period", "since", "summary"], rows: rows))
        }
    }
}
