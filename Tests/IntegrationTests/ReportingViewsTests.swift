import DXModel
import Foundation
import PostgresNIO
import Testing

/// The questions people ask of the reporting views, answered from figures reported through the
/// real pipeline: latest values with targets and gaps, one unit's trend, the ranking of a
/// province's communes, completeness, pillar scores with rank among siblings; and `dx report`.
@Suite("Reporting views and dx report", .serialized)
struct ReportingViewsTests {
    let catalog = TestDatabase.catalogFiles.catalog

    @Test("latest with targets and gaps, trend, commune ranking, completeness, pillar scores and rank; dx report as table, CSV, JSON and HTML")
    func views() async throws {
        let units = catalog.units
        // A current province and three of its communes; a pre-2025 district for a trend.
        let province: UnitCode = "44"
        let communes = units.currentCommunes(of: province).prefix(3)
        let expectedChildren = units.children(of: province, validAt: .year(2025)).count
        let dakrong: UnitCode = "old-467"
        // Fibre rates 90%, 70%, 50%: ranks 1, 2, 3; progress to the 80% target 100%, 87.5%, 62.5%.
        let fibre = [900, 700, 500]

        try await withPipeline("reporting", services: [Pipeline.ingest, Pipeline.indicators]) { pipeline in
            let token = try await pipeline.token(unit: "VN")
            var observations: [[String: Any]] = []
            for (commune, withFibre) in zip(communes, fibre) {
                observations.append(["unit": commune.rawValue, "period": "2025", "element": "households_total", "value": 1000])
                observations.append(["unit": commune.rawValue, "period": "2025", "element": "households_with_fibre", "value": withFibre])
            }
            let reports: [[String: Any]] = [
                ["reportId": "views-communes-2025", "revision": 1, "observations": observations],
                ["reportId": "views-dakrong", "revision": 1, "observations": [2022, 2023, 2024].flatMap { year -> [[String: Any]] in
                    [["unit": dakrong.rawValue, "period": "\(year)", "element": "households_total", "value": 12_002],
                     ["unit": dakrong.rawValue, "period": "\(year)", "element": "households_with_fibre", "value": 3_000 + 1_000 * (year - 2022)]]
                }],
            ]
            for report in reports {
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: report)
                #expect(response.status == 201, "\(response.text)")
            }
            try await pipeline.waitUntilApplied(reports.map { $0["reportId"] as! String }, token: token)

            let rows = try await pipeline.withAdmin { db in
                func strings(_ sql: String) async throws -> [[String]] {
                    var result: [[String]] = []
                    for try await row in try await db.query(PostgresQuery(unsafeSQL: sql)) {
                        let cells = row.makeRandomAccess()
                        result.append(try (0..<cells.count).map { i in try cells[i].decode(String?.self, context: .default) ?? "null" })
                    }
                    return result
                }
                let firstCommune = communes.first!.rawValue
                return try await (
                    latest: strings("SELECT period, value::text, target::text, gap::text FROM reporting.latest_indicator_values WHERE unit_code = '\(firstCommune)' AND indicator_code = 'household_fibre_rate'"),
                    province: strings("SELECT value::text, numerator::text, denominator::text, completeness_percent::text FROM reporting.indicator_values WHERE unit_code = '44' AND period = '2025' AND indicator_code = 'household_fibre_rate'"),
                    trend: strings("SELECT period, value::text, coalesce(previous_value::text, 'null'), coalesce(change::text, 'null') FROM reporting.indicator_trend WHERE unit_code = 'old-467' AND indicator_code = 'household_fibre_rate' ORDER BY period"),
                    ranking: strings("SELECT unit_code, rank::text, communes_ranked::text FROM reporting.commune_ranking WHERE province_code = '44' AND indicator_code = 'household_fibre_rate' AND period = '2025' ORDER BY rank"),
                    completeness: strings("SELECT children_reported::text, children_expected::text FROM reporting.completeness WHERE unit_code = '44' AND period = '2025' AND element_code = 'households_total'"),
                    pillars: strings("SELECT unit_code, xa_hoi_so::text, composite_index::text, rank_among_siblings::text FROM reporting.pillar_scores WHERE parent_code = '44' AND period = '2025' ORDER BY rank_among_siblings")
                )
            }
            let c = communes.map(\.rawValue)
            #expect(rows.latest == [["2025", "90.00", "80", "-10.00"]], "latest value, target and gap (negative: ahead)")
            #expect(rows.province == [["70.00", "2100", "3000", "\(String(format: "%.1f", 300.0 / Double(expectedChildren)))"]],
                    "the province's ratio from summed counts, with completeness 3 of \(expectedChildren)")
            #expect(rows.trend == [["2022", "25.00", "null", "null"], ["2023", "33.33", "25.00", "8.33"], ["2024", "41.66", "33.33", "8.33"]])
            #expect(rows.ranking == [[c[0], "1", "3"], [c[1], "2", "3"], [c[2], "3", "3"]])
            #expect(rows.completeness == [["3", "\(expectedChildren)"]])
            #expect(rows.pillars == [[c[0], "100.0", "100.0", "1"], [c[1], "87.5", "87.5", "2"], [c[2], "62.5", "62.5", "3"]], "capped at 100%, ranked among siblings")

            // dx report: the same answers on the command line.
            let env = ["DX_REPORTING_URL": pipeline.database.url(role: "dx_reporting")]
            let ranking = try runDX(["report", "ranking", "--unit", "44", "--indicator", "household_fibre_rate", "--period", "2025", "--format", "csv"], pipeline: pipeline, environment: env)
            #expect(ranking.status == 0, "\(ranking.output)")
            let rankingLines = ranking.output.split(separator: "\n").filter { $0.contains(",") }
            #expect(rankingLines.count == 4, "a header and three communes: \(ranking.output)")
            #expect(rankingLines.dropFirst().first?.contains(c[0]) == true)
            let trend = try runDX(["report", "trend", "--unit", dakrong.rawValue, "--indicator", "household_fibre_rate", "--format", "json"], pipeline: pipeline, environment: env)
            #expect(trend.status == 0, "\(trend.output)")
            let trendRows = try JSONSerialization.jsonObject(with: Data(trend.output.utf8)) as? [[String: Any]] ?? []
            #expect(trendRows.count == 3 && trendRows.allSatisfy { ($0["unit_name"] as? String) == "Huyện Đa Krông" }, "\(trend.output)")
            let table = try runDX(["report", "pillars", "--unit", "44", "--period", "2025"], pipeline: pipeline, environment: env)
            #expect(table.status == 0 && table.output.contains(units.units[communes.first!]!.name), "\(table.output)")
            let html = FileManager.default.temporaryDirectory.appendingPathComponent("dx-report-\(UInt32.random(in: 0..<UInt32.max)).html")
            let written = try runDX(["report", "html", "--output", html.path], pipeline: pipeline, environment: env)
            #expect(written.status == 0, "\(written.output)")
            let page = try String(contentsOf: html, encoding: .utf8)
            #expect(page.contains("<html") && page.contains("Tỷ lệ hộ gia đình có kết nối Internet băng rộng cáp quang"))
            try? FileManager.default.removeItem(at: html)
            let bad = try runDX(["report", "trend", "--period", "2023-13"], pipeline: pipeline, environment: env)
            #expect(bad.status != 0 && bad.output.contains("2023-13"), "a clear error names the bad period: \(bad.output)")
            let unknown = try runDX(["report", "latest", "--unit", "99999"], pipeline: pipeline, environment: env)
            #expect(unknown.status != 0 && unknown.output.contains("unit 99999 is not in the catalog"), "\(unknown.output)")
        }
    }
}
