import DXModel
import DXStore
import Foundation
import Indicators
import Testing

/// Runs `body` against a fresh pipeline and stops its services afterwards; on failure the
/// services' logs go with the error.
func withPipeline(_ label: String, services: [String] = [Pipeline.ingest, Pipeline.indicators, Pipeline.alerts],
                  _ body: (Pipeline) async throws -> Void) async throws {
    let pipeline = try await Pipeline(label: label)
    do {
        try await pipeline.start(services)
        try await body(pipeline)
        pipeline.stop()
    } catch {
        let logs = pipeline.logs()
        pipeline.stop()
        throw TestFailure("\(error)\n\(logs)")
    }
}

@Suite("End to end: the three services over Kafka and PostgreSQL", .serialized)
struct EndToEndTests {
    static func report(_ id: String, revision: Int, unit: String, period: String, values: [String: Any]) -> [String: Any] {
        ["reportId": id, "revision": revision, "unit": unit, "period": period,
         "observations": values.sorted { $0.key < $1.key }.map { ["element": $0.key, "value": $0.value] }]
    }

    @Test("a report below target fires an alert on dx.alerts.v1 at every level; a revision above target resolves it")
    func belowTargetFiresThenResolves() async throws {
        try await withPipeline("e2e") { pipeline in
            // Quảng Trị's pre-2025 provincial office reports for Huyện Đa Krông (old-467).
            let token = try await pipeline.token(unit: "old-45")
            let reader = try TopicReader(topic: pipeline.topics.alerts, brokers: pipeline.brokers)

            let first = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: Self.report(
                "dakrong-2023", revision: 1, unit: "old-467", period: "2023",
                values: ["households_with_fibre": 4254, "households_total": 12002]))
            #expect(first.status == 201, "\(first.text)")

            // Đa Krông, Quảng Trị before 2025, Quảng Trị today, and the country: all below 80%.
            let levels: Set<String> = ["old-467", "old-45", "44", "VN"]
            let firing = try await reader.wait(for: "four firing alerts") { messages in
                let transitions = ((try? messages.map { try MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value).data }) ?? []).filter { $0.rule == "below_target" }
                return Set(transitions.filter { $0.status == .firing }.map(\.unit.code.rawValue)) == levels
            }
            let transitions = try firing.map { try MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value) }
            let dakrong = try #require(transitions.first { $0.data.unit.code == "old-467" && $0.data.rule == "below_target" })
            #expect(dakrong.schema == "dx.alerts.v1")
            #expect(dakrong.data.rule == "below_target")
            #expect(dakrong.data.indicator.code == "household_fibre_rate")
            #expect(dakrong.data.summary.vi == "Huyện Đa Krông: tỷ lệ hộ gia đình có kết nối Internet băng rộng cáp quang 35,44% — thấp hơn mục tiêu 80% năm 2025")
            #expect(dakrong.data.summary.en.contains("35.44%"))
            #expect(dakrong.data.unit.path == ["Việt Nam", "Tỉnh Quảng Trị", "Tỉnh Quảng Trị", "Huyện Đa Krông"])
            #expect(dakrong.data.target == 80)
            #expect(firing.allSatisfy { String(decoding: $0.key ?? [], as: UTF8.self).count == 16 }, "alerts are keyed by fingerprint")

            // The rows in PostgreSQL say the same.
            let stored = try await pipeline.withAdmin { db in
                var rows: [(String, String, String)] = []
                for try await row in try await db.query("""
                    SELECT unit_code, exact_value::text, numerator::text || '/' || denominator::text FROM reporting.indicator_values
                    WHERE indicator_code = 'household_fibre_rate' AND period = '2023' ORDER BY unit_code
                    """).decode((String, String, String).self) { rows.append(row) }
                return rows
            }
            #expect(stored.map(\.0) == ["44", "VN", "old-45", "old-467"])
            #expect(stored.allSatisfy { $0.1 == "35.4440926512" && $0.2 == "4254/12002" })

            // Revision 2 lifts fibre to 10,000 of 12,002 households: above target everywhere.
            let second = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: Self.report(
                "dakrong-2023", revision: 2, unit: "old-467", period: "2023",
                values: ["households_with_fibre": 10000, "households_total": 12002]))
            #expect(second.status == 201, "\(second.text)")
            let all = try await reader.wait(for: "four resolved alerts") { messages in
                let transitions = ((try? messages.map { try MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value).data }) ?? []).filter { $0.rule == "below_target" }
                return Set(transitions.filter { $0.status == .resolved }.map(\.unit.code.rawValue)) == levels
            }
            // Let any stray duplicate arrive before counting.
            try await Task.sleep(for: .seconds(2))
            // Only below_target concerns this report (the missing-report timer has its own alerts).
            let byFingerprint = Dictionary(grouping: try reader.decoded(AlertTransition.self).map(\.data).filter { $0.rule == "below_target" }, by: \.fingerprint)
            #expect(byFingerprint.count == 4)
            for (fingerprint, list) in byFingerprint {
                #expect(list.map(\.status) == [.firing, .resolved], "fingerprint \(fingerprint) published \(list.map(\.status))")
            }
            #expect(all.count >= 8)
            let open = try await pipeline.withAdmin { db in
                var statuses: [String] = []
                for try await status in try await db.query("SELECT status FROM alerting.alerts WHERE rule = 'below_target' ORDER BY fingerprint").decode(String.self) { statuses.append(status) }
                return statuses
            }
            #expect(open == ["resolved", "resolved", "resolved", "resolved"])
            await reader.close()
        }
    }
}
