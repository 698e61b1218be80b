import DXModel
import DXStore
import Foundation
import PostgresNIO

/// A self-contained HTML page: pillar scores of the provinces, open alerts, and each
/// province's latest indicator values against their targets. `make demo` writes it.
enum HTMLReport {
    static func render(_ db: Database) async throws -> String {
        var html = """
            <!doctype html><html lang="vi"><head><meta charset="utf-8"><title>DX Pulse — báo cáo chuyển đổi số</title>
            <style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}table{border-collapse:collapse;margin:1rem 0}
            td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
            .behind{color:#b00020}.met{color:#1b7f3b}h2{margin-top:2rem}small{color:#666}</style></head><body>
            <h1>DX Pulse — Báo cáo chuyển đổi số</h1><p><small>Tạo lúc \(RFC3339.string(Date())) · số liệu từ PostgreSQL (reporting.*)</small></p>
            """
        html += "<h2>Chỉ số tổng hợp theo trụ cột (Pillar scores)</h2>"
        html += try await table(db, """
            SELECT unit_name, level, period, composite_index::text, chinh_quyen_so::text, kinh_te_so::text, xa_hoi_so::text,
                   rank_among_siblings::text || '/' || siblings_ranked::text
            FROM reporting.pillar_scores WHERE level IN ('country', 'province') ORDER BY level, period DESC, rank_among_siblings LIMIT 200
            """, header: ["Đơn vị", "Cấp", "Kỳ", "Chỉ số tổng hợp %", "Chính quyền số %", "Kinh tế số %", "Xã hội số %", "Hạng"], numeric: [3, 4, 5, 6])
        html += "<h2>Cảnh báo đang mở (Open alerts)</h2>"
        html += try await table(db, """
            SELECT severity, unit_name, period, summary_vi, starts_at::text FROM reporting.open_alerts
            ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, unit_name LIMIT 500
            """, header: ["Mức độ", "Đơn vị", "Kỳ", "Tóm tắt", "Từ"], numeric: [])
        html += "<h2>Chỉ tiêu mới nhất so với mục tiêu (Latest indicators)</h2>"
        html += try await table(db, """
            SELECT unit_name, level, period, indicator_name_vi, value::text, target::text, target_year::text, gap::text, completeness_percent::text
            FROM reporting.latest_indicator_values WHERE level IN ('country', 'province', 'district')
            ORDER BY CASE level WHEN 'country' THEN 0 WHEN 'province' THEN 1 ELSE 2 END, unit_name, indicator_code LIMIT 1000
            """, header: ["Đơn vị", "Cấp", "Kỳ", "Chỉ tiêu", "Giá trị %", "Mục tiêu %", "Năm mục tiêu", "Còn thiếu", "Đầy đủ %"], numeric: [4, 5, 6, 7, 8], gapColumn: 7)
        return html + "</body></html>\n"
    }

    static func table(_ db: Database, _ sql: String, header: [String], numeric: Set<Int>, gapColumn: Int? = nil) async throws -> String {
        var out = "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
        var count = 0
        for try await row in try await db.query(PostgresQuery(unsafeSQL: sql)) {
            var cells: [String?] = []
            for cell in row { cells.append(try cell.decode(String?.self)) }
            out += "<tr>"
            for (index, cell) in cells.enumerated() {
                let text = cell.map(trimNumber) ?? ""
                var classes: [String] = []
                if numeric.contains(index) { classes.append("n") }
                if index == gapColumn, let gap = Quantity.parse(text) { classes.append(gap > 0 ? "behind" : "met") }
                out += "<td\(classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\"")>\(escape(text))</td>"
            }
            out += "</tr>"
            count += 1
        }
        if count == 0 { out += "<tr><td colspan=\"\(header.count)\">—</td></tr>" }
        return out + "</table>"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
