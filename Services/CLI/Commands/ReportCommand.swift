import ArgumentParser
import DXModel
import DXStore
import Foundation
import PostgresNIO

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the reporting views as a table, CSV or JSON, or write an HTML report.",
        discussion: """
            Views: latest (each unit's latest value per indicator, with targets and gaps), trend (one unit's
            values over time), ranking (a province's communes ranked per indicator), completeness (children
            reported out of expected), pillars (pillar scores, composite index and rank among siblings).
            Connects with DX_REPORTING_URL when set (the read-only role), else DX_POSTGRES_ADMIN_URL.
            """
    )

    enum View: String, ExpressibleByArgument, CaseIterable {
        case latest, trend, ranking, completeness, pillars, html
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @Argument(help: "latest, trend, ranking, completeness, pillars, or html.")
    var view: View = .latest
    @Option(help: "Only this unit and the units under it (a code such as 66 or old-467); for ranking, the province.")
    var unit: String?
    @Option(help: "Only this indicator (or, for completeness, data element) code.")
    var indicator: String?
    @Option(help: "Only this period (2023, 2023-Q4, 2023-10).")
    var period: String?
    @Option(help: "table, csv or json.")
    var format: Format = .table
    @Option(help: "At most this many rows.")
    var limit = 200
    @Option(help: "With html: the file to write.")
    var output: String = "dx-report.html"
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        if let period, Period(period) == nil { throw ValidationError("'\(period)' is not a period (2023, 2023-Q4 or 2023-10)") }
        let url = try database.resolvedURL(fallbackVariables: ["DX_REPORTING_URL", "DX_POSTGRES_ADMIN_URL"])
        let logger = database.logger
        if view == .html {
            let html: String = try await withDatabase(url: url, logger: logger) { db in try await HTMLReport.render(db) }
            try Data(html.utf8).write(to: URL(fileURLWithPath: output))
            print("wrote \(output)")
            return
        }
        let (view, unit, indicator, period, limit) = (self.view, self.unit, self.indicator, self.period, self.limit)
        let (header, rows) = try await withDatabase(url: url, logger: logger) { db in
            let units = try await unit.asyncMap { try await subtree(of: $0, db) }
            return try await query(view, units: units, unit: unit, code: indicator, period: period, limit: limit, db)
        }
        switch format {
        case .table:
            print(rows.isEmpty ? "no rows" : TextTable.render(header: header, rows: rows.map { $0.map { $0 ?? "" } }, rightAligned: numericColumns(header)))
        case .csv:
            print(TextTable.csv(header: header, rows: rows.map { $0.map { $0 ?? "" } }))
        case .json:
            let objects = rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(header, row).compactMap { key, value in value.map { (key, $0) } })
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    func numericColumns(_ header: [String]) -> Set<Int> {
        let numeric: Set<String> = ["value", "numerator", "denominator", "target", "target_year", "gap", "completeness_percent", "previous_value",
                                    "change", "rank", "communes_ranked", "children_reported", "children_expected", "composite_index",
                                    "chinh_quyen_so", "kinh_te_so", "xa_hoi_so", "indicators", "rank_among_siblings", "siblings_ranked"]
        return Set(header.enumerated().filter { numeric.contains($0.element) }.map(\.offset))
    }
}

/// The unit and everything under it; an error naming the unit when the catalog has none.
func subtree(of unit: String, _ db: Database) async throws -> [String] {
    var codes: [String] = []
    for try await code in try await db.query("""
        WITH RECURSIVE sub(code) AS (SELECT code FROM catalog.units WHERE code = \(unit)
            UNION ALL SELECT u.code FROM catalog.units u JOIN sub ON u.parent = sub.code)
        SELECT code FROM sub
        """).decode(String.self) { codes.append(code) }
    guard !codes.isEmpty else { throw CLIError("unit \(unit) is not in the catalog") }
    return codes
}

private func query(_ view: ReportCommand.View, units: [String]?, unit: String?, code: String?, period: String?, limit: Int, _ db: Database) async throws -> ([String], [[String?]]) {
    let columns: [String]
    let from: String
    let codeColumn: String
    let unitColumn: String
    let order: String
    switch view {
    case .latest:
        columns = ["unit_code", "unit_name", "level", "period", "indicator_code", "value", "numerator", "denominator", "target", "target_year", "gap", "completeness_percent"]
        from = period == nil ? "reporting.latest_indicator_values" : "reporting.indicator_values"
        (codeColumn, unitColumn) = ("indicator_code", "unit_code")
        order = "CASE level WHEN 'country' THEN 0 WHEN 'province' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, unit_code, indicator_code, period_end"
    case .trend:
        columns = ["unit_code", "unit_name", "indicator_code", "period", "value", "previous_value", "change", "target", "gap", "completeness_percent"]
        from = "reporting.indicator_trend"
        (codeColumn, unitColumn) = ("indicator_code", "unit_code")
        order = "unit_code, indicator_code, period_type DESC, period"
    case .ranking:
        columns = ["province_code", "province_name", "rank", "communes_ranked", "unit_code", "unit_name", "indicator_code", "period", "value", "target", "gap"]
        from = "reporting.commune_ranking"
        (codeColumn, unitColumn) = ("indicator_code", "province_code")
        order = "province_code, indicator_code, period, rank"
    case .completeness:
        columns = ["unit_code", "unit_name", "level", "period", "element_code", "value", "children_reported", "children_expected", "completeness_percent"]
        from = "reporting.completeness"
        (codeColumn, unitColumn) = ("element_code", "unit_code")
        order = "CASE level WHEN 'country' THEN 0 WHEN 'province' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, unit_code, element_code, period"
    case .pillars:
        columns = ["unit_code", "unit_name", "level", "period", "composite_index", "chinh_quyen_so", "kinh_te_so", "xa_hoi_so", "indicators", "rank_among_siblings", "siblings_ranked"]
        from = "reporting.pillar_scores"
        (codeColumn, unitColumn) = ("unit_code", "unit_code")
        order = "CASE level WHEN 'country' THEN 0 WHEN 'province' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, parent_code, period, rank_among_siblings"
    case .html:
        return ([], [])
    }
    let unitFilter = view == .ranking ? (unit.map { [$0] }) : units
    let select = columns.map { "\($0)::text" }.joined(separator: ", ")
    var binds = PostgresBindings()
    binds.append(unitFilter ?? [], context: .default)
    binds.append(code ?? "")
    binds.append(period ?? "")
    binds.append(limit)
    let sql = """
        SELECT \(select) FROM \(from)
        WHERE (\(unitFilter == nil) OR \(unitColumn) = ANY($1))
          AND ($2 = '' OR \(view == .pillars ? "$2 = $2" : "\(codeColumn) = $2"))
          AND ($3 = '' OR period = $3)
        ORDER BY \(order) LIMIT $4
        """
    var rows: [[String?]] = []
    for try await row in try await db.query(PostgresQuery(unsafeSQL: sql, binds: binds)) {
        var values: [String?] = []
        for cell in row { values.append(try cell.decode(String?.self)) }
        rows.append(values.map { $0.map(trimNumber) })
    }
    return (columns, rows)
}

/// "80.0000" → "80" for display; text stays as it is.
func trimNumber(_ text: String) -> String {
    guard text.contains("."), let value = ExactDecimal.parse(text) else { return text }
    return ExactDecimal.string(value)
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        switch self {
        case .some(let value): try await transform(value)
        case .none: nil
        }
    }
}
