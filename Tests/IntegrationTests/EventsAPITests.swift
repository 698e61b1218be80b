import DXModel
import DXStore
import Foundation
import NIOCore
import Testing

@Suite("Ingestion API: dossier events (NDJSON)", .serialized)
struct EventsAPITests {
    /// Xã Ea Ô (Đắk Lắk, current tree) and a commune of another province (Quảng Trị).
    static let eaO = "24403"
    static let dongHoi = "18880"

    static func event(_ id: String, _ kind: String, unit: String = eaO, at occurredAt: String = "2026-03-05T09:12:00+07:00",
                      _ extra: [String: Any] = [:]) -> [String: Any] {
        var object: [String: Any] = ["eventId": id, "kind": kind, "unit": unit, "occurredAt": occurredAt]
        for (key, value) in extra { object[key] = value }
        return object
    }

    /// The `delta` observations dx-ingest put in the outbox, as "province unit period element +n".
    static func outboxDeltas(_ pipeline: Pipeline) async throws -> [String] {
        try await pipeline.withAdmin { db in
            var lines: [String] = []
            for try await (key, payload) in try await db.query("SELECT key, payload FROM ingest.outbox ORDER BY id").decode((String, ByteBuffer).self) {
                let envelope = try MessageCoding.decode(Envelope<ObservationBatch>.self, from: Array(buffer: payload))
                #expect(envelope.data.origin == .events && envelope.data.province.rawValue == key)
                for observation in envelope.data.observations {
                    lines.append("\(key) \(observation.unit) \(observation.period) \(observation.element) +\((observation.delta ?? -1).description)")
                }
            }
            return lines.sorted()
        }
    }

    @Test("each kind counts into its elements for the month in Vietnam; deltas summed per cell, one message per province, all in one transaction")
    func kindsAndCounting() async throws {
        try await withPipeline("events", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "VN")
            let url = "\(pipeline.ingestURL)/v1/events"
            let response = try await HTTP.post(url, token: token, events: [
                Self.event("r-1", "dossier_received", ["channel": "online", "feeRequired": true]),
                Self.event("r-2", "dossier_received", ["channel": "offline"]),
                Self.event("r-3", "dossier_received", ["channel": "online", "feeRequired": false]),
                Self.event("s-1", "dossier_resolved", ["onTime": true]),
                Self.event("s-2", "dossier_resolved", ["onTime": false]),
                Self.event("p-1", "fee_paid_online"),
                // 17:30 UTC on 28 February is 00:30 on 1 March in Vietnam: it counts into March.
                Self.event("r-4", "dossier_received", at: "2026-02-28T17:30:00Z", ["channel": "offline"]),
                // 16:59 UTC on 31 March is still March in Vietnam; a minute later it is April.
                Self.event("r-5", "dossier_received", at: "2026-03-31T16:59:59.999999Z", ["channel": "offline"]),
                Self.event("r-6", "dossier_received", at: "2026-03-31T17:00:00Z", ["channel": "offline"]),
                Self.event("q-1", "dossier_received", unit: Self.dongHoi, at: "2026-03-10T10:00:00+07:00", ["channel": "online"]),
            ])
            #expect(response.status == 200, "\(response.text)")
            let receipt = try response.json()
            #expect(receipt["accepted"] as? Int == 10 && receipt["duplicate"] as? Int == 0 && receipt["messages"] as? Int == 2, "\(response.text)")
            #expect(try await Self.outboxDeltas(pipeline) == [
                "44 18880 2026-03 dossiers_received_online +1",
                "44 18880 2026-03 dossiers_received_total +1",
                "66 24403 2026-03 dossiers_paid_online +1",
                "66 24403 2026-03 dossiers_received_online +2",
                "66 24403 2026-03 dossiers_received_total +5",
                "66 24403 2026-03 dossiers_requiring_payment +1",
                "66 24403 2026-03 dossiers_resolved_on_time +1",
                "66 24403 2026-03 dossiers_resolved_total +2",
                "66 24403 2026-04 dossiers_received_total +1",
            ])
            // The rows EngineAudit recomputes from: one per event, its elements, its month, its message.
            let rows = try await pipeline.withAdmin { db in
                var rows: [String] = []
                for try await (id, kind, period, elements) in try await db.query(
                    "SELECT event_id, kind, period, elements FROM ingest.events ORDER BY event_id"
                ).decode((String, String, String, [String]).self) { rows.append("\(id) \(kind) \(period) \(elements.joined(separator: "+"))") }
                return rows
            }
            #expect(rows == [
                "p-1 fee_paid_online 2026-03 dossiers_paid_online",
                "q-1 dossier_received 2026-03 dossiers_received_total+dossiers_received_online",
                "r-1 dossier_received 2026-03 dossiers_received_total+dossiers_received_online+dossiers_requiring_payment",
                "r-2 dossier_received 2026-03 dossiers_received_total",
                "r-3 dossier_received 2026-03 dossiers_received_total+dossiers_received_online",
                "r-4 dossier_received 2026-03 dossiers_received_total",
                "r-5 dossier_received 2026-03 dossiers_received_total",
                "r-6 dossier_received 2026-04 dossiers_received_total",
                "s-1 dossier_resolved 2026-03 dossiers_resolved_total+dossiers_resolved_on_time",
                "s-2 dossier_resolved 2026-03 dossiers_resolved_total",
            ])
            #expect(try await count(pipeline, """
                SELECT count(*) FROM ingest.events e WHERE NOT EXISTS (SELECT 1 FROM ingest.outbox o WHERE o.message_id = e.message_id)
                """) == 0)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events WHERE event_id = 'r-4' AND occurred_at = '2026-02-28T17:30:00Z'") == 1)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events WHERE event_id = 'r-5' AND occurred_at = '2026-03-31T16:59:59.999999Z'") == 1)
        }
    }

    @Test("a duplicate event id, already stored or twice in one request, is ignored and reported as a duplicate")
    func duplicates() async throws {
        try await withPipeline("eventdup", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "66")
            let url = "\(pipeline.ingestURL)/v1/events"
            let first = try await HTTP.post(url, token: token, events: [
                Self.event("d-1", "fee_paid_online"), Self.event("d-2", "fee_paid_online"), Self.event("d-1", "fee_paid_online"),
            ])
            #expect(first.status == 200, "\(first.text)")
            let receipt = try first.json()
            #expect(receipt["accepted"] as? Int == 2 && receipt["duplicate"] as? Int == 1)
            let listed = (receipt["duplicates"] as? [[String: Any]] ?? []).map { "\($0["line"]!) \($0["eventId"]!) \($0["reason"]!)" }
            #expect(listed == ["3 d-1 given twice in this request (first on line 1)"])

            // The same batch again: nothing new, every event a duplicate, no message.
            let outboxBefore = try await count(pipeline, "SELECT count(*) FROM ingest.outbox")
            let again = try await HTTP.post(url, token: token, events: [Self.event("d-1", "fee_paid_online"), Self.event("d-2", "fee_paid_online"), Self.event("d-3", "fee_paid_online")])
            #expect(again.status == 200, "\(again.text)")
            let second = try again.json()
            #expect(second["accepted"] as? Int == 1 && second["duplicate"] as? Int == 2 && second["messages"] as? Int == 1, "\(again.text)")
            #expect((second["duplicates"] as? [[String: Any]] ?? []).map { $0["reason"] as? String } == ["already accepted", "already accepted"])
            let replay = try await HTTP.post(url, token: token, events: [Self.event("d-3", "fee_paid_online")])
            #expect(try replay.json()["accepted"] as? Int == 0 && (replay.json()["sequence"]) == nil)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox") == outboxBefore + 1)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events") == 3)

            // Many clients racing with the same ids: each event is counted once.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let response = try await HTTP.post(url, token: token, events: (0..<50).map { Self.event("race-\($0)", "fee_paid_online") })
                        guard response.status == 200 else { throw TestFailure("\(response.status) \(response.text)") }
                        return try response.json()["accepted"] as? Int ?? -1
                    }
                }
                var accepted = 0
                for try await n in group { accepted += n }
                #expect(accepted == 50)
            }
            let deltas = try await Self.outboxDeltas(pipeline).filter { $0.contains("dossiers_paid_online") }
            let total = deltas.compactMap { Int($0.split(separator: "+").last ?? "") }.reduce(0, +)
            #expect(total == 53, "\(deltas)")
        }
    }

    @Test("per-line errors with line, field and reason; all-or-nothing unless partial=true; never half-written")
    func validation() async throws {
        try await withPipeline("eventerr", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "VN")
            let url = "\(pipeline.ingestURL)/v1/events"
            let lines = [
                #"{"eventId":"ok-1","kind":"dossier_received","unit":"24403","occurredAt":"2026-03-05T09:12:00+07:00","channel":"online"}"#,
                #"{"eventId":"bad json","kind":"#,
                #"[1,2]"#,
                "",
                #"{"eventId":"x-1","kind":"dossier_lost","unit":"nowhere","occurredAt":"yesterday"}"#,
                #"{"eventId":"x-2","kind":"dossier_received","unit":"24403","occurredAt":"2026-03-05T09:12:00+07:00"}"#,
                #"{"eventId":"x-3","kind":"dossier_resolved","unit":"24403","occurredAt":"2026-03-05T09:12:00+07:00","channel":"online"}"#,
                #"{"eventId":"x-4","kind":"fee_paid_online","unit":"24403","occurredAt":"2030-01-01T00:00:00Z"}"#,
                #"{"eventId":"x-5","kind":"fee_paid_online","unit":"24403","occurredAt":"2025-06-30T10:00:00+07:00"}"#,
                #"{"eventId":"x-6","kind":"fee_paid_online","unit":"24403","occurredAt":"2026-02-30T10:00:00+07:00"}"#,
                #"{"eventId":7,"kind":"dossier_received","unit":"24403","occurredAt":"2026-03-05T09:12:00+07:00","channel":"by post","feeRequired":"yes"}"#,
                #"{"eventId":"ok-2","kind":"fee_paid_online","unit":"old-19555","occurredAt":"2025-06-30T10:00:00+07:00"}"#,
            ]
            let body = Array(lines.joined(separator: "\r\n").utf8)
            let rejected = try await HTTP.post(url, token: token, body: body, contentType: "application/x-ndjson")
            #expect(isProblem(rejected, 422), "\(rejected.text)")
            let errors = try rowErrors(rejected)
            func fields(_ line: Int) -> [String] { errors.filter { $0.line == line }.map(\.field) }
            #expect(fields(1).isEmpty && fields(12).isEmpty)
            #expect(fields(2) == ["line"] && fields(3) == ["line"])
            #expect(fields(5) == ["kind", "occurredAt", "unit"], "\(errors.filter { $0.line == 5 })")
            #expect(errors.contains { $0.line == 6 && $0.field == "channel" && $0.reason == "channel is missing" })
            #expect(errors.contains { $0.line == 7 && $0.field == "channel" && $0.reason == "channel applies to dossier_received events, not to dossier_resolved" })
            #expect(errors.contains { $0.line == 7 && $0.field == "onTime" && $0.reason == "onTime is missing (true or false)" })
            #expect(errors.contains { $0.line == 8 && $0.field == "occurredAt" && $0.reason.contains("is in the future") })
            #expect(errors.contains { $0.line == 9 && $0.field == "unit" && $0.reason.hasPrefix("Xã Ea Ô (24403) did not exist at the end of 2025-06") })
            #expect(fields(10) == ["occurredAt"])
            #expect(Set(fields(11)) == ["eventId", "channel", "feeRequired"])
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events") == 0)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox") == 0)

            let partial = try await HTTP.post("\(url)?partial=true", token: token, body: body, contentType: "application/x-ndjson")
            #expect(partial.status == 200, "\(partial.text)")
            let receipt = try partial.json()
            #expect(receipt["accepted"] as? Int == 2 && receipt["lines"] as? Int == 11)
            #expect(Set((receipt["rejected"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int }) == [2, 3, 5, 6, 7, 8, 9, 10, 11])
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events") == 2)
            #expect(try await Self.outboxDeltas(pipeline) == [
                "44 old-19555 2025-06 dossiers_paid_online +1",
                "66 24403 2026-03 dossiers_received_online +1",
                "66 24403 2026-03 dossiers_received_total +1",
            ])

            let empty = try await HTTP.post(url, token: token, body: Array("\n\n".utf8), contentType: "application/x-ndjson")
            #expect(isProblem(empty, 422), "\(empty.text)")
            var invalid = Array(lines[0].utf8)
            invalid.insert(0xFF, at: 10)
            let notUTF8 = try await HTTP.post(url, token: token, body: invalid, contentType: "application/x-ndjson")
            #expect(isProblem(notUTF8, 400), "\(notUTF8.text)")
        }
    }
}
