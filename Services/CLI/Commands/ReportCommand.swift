import ArgumentParser
import DXModel
import DXStore
import Foundation
import PostgresNIO

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print indicator values from the reporting views.",
        discussion: "Reads reporting.latest_indicator_values (or reporting.indicator_values with --all-periods). Connects with DX_REPORTING_URL when set, else DX_POSTGRES_ADMIN_URL."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Option(help: "Only this unit and the units under it (a code such as 66 or old-467).")
    var unit: String?
    @Option(help: "Only this indicator code.")
    var indicator: String?
    @Option(help: "Only this period (2023, 2023-Q4, 2023-10).")
    var period: String?
    @Flag(help: "Every period, not just each unit's latest.")
    var allPeriods = false
    @Option(help: "table, csv or json.")
    var format: Format = .table
    @Option(help: "At most this many rows.")
    var limit = 200
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = database.logger
        let view = allPeriods || period != nil ? "reporting.indicator_values" : "reporting.latest_indicator_values"
        let (unit, indicator, period, limit) = (self.unit, self.indicator, self.period, self.limit)
        let rows = try await withDatabase(url: try database.resolvedURL(fallbackVariables: ["DX_REPORTING_URL", "DX_POSTGRES_ADMIN_URL"]), logger: logger) { db in
            var units: [String]? = nil
            if let unit {
                // The unit and everything under it.
                var codes: [String] = []
                for try await code in try await db.query("""
                    WITH RECURSIVE sub(code) AS (SELECT code FROM catalog.units WHERE code = \(unit)
                        UNION ALL SELECT u.code FROM catalog.units u JOIN sub ON u.parent = sub.code)
                    SELECT code FROM sub
                    """).decode(String.self) { codes.append(code) }
                units = codes
            }
            var result: [[String]] = []
            let query: PostgresQuery = """
                SELECT unit_code, unit_name, level, period, indicator_code, value::text, numerator::text, denominator::text,
                       target::text, target_year, gap::text, completeness_percent::text
                FROM \(unescaped: view)
                WHERE (\(units == nil) OR unit_code = ANY(\(units ?? [])))
                  AND (\(indicator == nil) OR indicator_code = \(indicator ?? ""))
                  AND (\(period == nil) OR period = \(period ?? ""))
                ORDER BY CASE level WHEN 'country' THEN 0 WHEN 'province' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, unit_code, indicator_code, period
                LIMIT \(limit)
                """
            for try await row in try await db.query(query).decode((String, String, String, String, String, String?, String?, String?, String?, Int?, String?, String?).self) {
                result.append([row.0, row.1, row.2, row.3, row.4, row.5 ?? "", row.6.map(Self.trim) ?? "", row.7.map(Self.trim) ?? "",
                               row.8.map(Self.trim) ?? "", row.9.map(String.init) ?? "", row.10 ?? "", row.11 ?? ""])
            }
            return result
        }
        let header = ["unit", "name", "level", "period", "indicator", "value", "numerator", "denominator", "target", "target year", "gap", "completeness %"]
        switch format {
        case .table:
            print(rows.isEmpty ? "no indicator values yet" : TextTable.render(header: header, rows: rows, rightAligned: [5, 6, 7, 8, 9, 10, 11]))
        case .csv:
            print(TextTable.csv(header: header, rows: rows))
        case .json:
            let keys = ["unit", "name", "level", "period", "indicator", "value", "numerator", "denominator", "target", "targetYear", "gap", "completenessPercent"]
            let objects = rows.map { row in Dictionary(uniqueKeysWithValues: zip(keys, row).filter { !$0.1.isEmpty }) }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func trim(_ text: String) -> String {
        guard let value = ExactDecimal.parse(text) else { return text }
        return ExactDecimal.string(value)
    }
}
