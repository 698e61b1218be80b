import DXModel
import DXStore
import Foundation
import Indicators
import Logging
import Testing

/// Writes dossier events the way dx-ingest records them: an `ingest.events` row per event and
/// one `dx.observations.v1` message of +1 deltas per province, in the outbox, in one transaction.
func insertEvents(_ events: [(id: String, unit: UnitCode, month: Period, elements: [String])], pipeline: Pipeline, catalog: Catalog) async throws -> [UUID] {
    let topics = pipeline.topics
    return try await pipeline.withAdmin { db in
        let logger = TestEnvironment.logger("events")
        return try await db.withTransaction { connection in
            var sequence: Int64 = 0
            for try await value in try await connection.query("SELECT nextval('ingest.acceptance_sequence')", logger: logger).decode(Int64.self) { sequence = value }
            var byProvince: [UnitCode: [Observation]] = [:]
            for event in events {
                let province = catalog.units.province(of: event.unit)!
                let messageID = UUID()
                try await connection.query("""
                    INSERT INTO ingest.events (event_id, kind, unit, occurred_at, period, elements, sequence, message_id)
                    VALUES (\(event.id), 'dossier_received', \(event.unit.rawValue), now(), \(event.month.description), \(event.elements), \(sequence), \(messageID))
                    """, logger: logger)
                for element in event.elements {
                    byProvince[province, default: []].append(Observation(unit: event.unit, period: event.month, element: element, delta: 1))
                }
            }
            var messages: [OutboxMessage] = []
            for (province, observations) in byProvince {
                let envelope = Envelope(schema: ObservationBatch.schema, source: "dx-ingest",
                                        data: ObservationBatch(province: province, origin: .events, sequence: sequence, observations: observations))
                messages.append(try OutboxMessage(topic: topics.observations, key: province.rawValue, envelope: envelope))
            }
            try await Outbox(schema: "ingest").enqueue(messages, on: connection, logger: logger)
            return messages.map(\.id)
        }
    }
}

/// Count of rows a query returns as one integer.
func count(_ pipeline: Pipeline, _ sql: String) async throws -> Int {
    try await pipeline.withAdmin { db in
        var result = 0
        for try await value in try await db.query(PostgresQueryText(sql).query).decode(Int.self) { result = value }
        return result
    }
}

import PostgresNIO
struct PostgresQueryText {
    let query: PostgresQuery
    init(_ sql: String) { query = PostgresQuery(unsafeSQL: sql) }
}

@Suite("Reliability: crashes and duplicates", .serialized)
struct ReliabilityTests {
    let catalog = TestDatabase.catalogFiles.catalog

    /// Communes of a few provinces in both trees.
    func communes(_ tree: UnitTree, count: Int, seed: UInt64) -> [UnitCode] {
        var rng = SeededGenerator(seed: seed)
        let all = catalog.units.units.values.filter { $0.tree == tree && $0.level == .commune }.map(\.code).sorted()
        return (0..<count).map { _ in all.randomElement(using: &rng)! }
    }

    @Test("SIGKILL of dx-indicators while consuming: after restart every value equals a recomputation from the accepted reports, nothing applied twice")
    func crashAndRecover() async throws {
        try await withPipeline("crash", services: [Pipeline.ingest]) { pipeline in
            // One message per transaction while we aim the kill, so there is a window to hit.
            try await pipeline.start([Pipeline.indicators], extraEnvironment: ["DX_CONSUMER_BATCH_SIZE": "1"])
            let token = try await pipeline.token(unit: "VN")
            var rng = SeededGenerator(seed: 2026)
            let current = communes(.current, count: 120, seed: 1)
            let old = communes(.pre2025, count: 60, seed: 2)

            // 40 reports of 12 values each, a third revised (changed and withdrawn values).
            var reports: [[String: Any]] = []
            for r in 0..<40 {
                let units = r % 3 == 0 ? Array(old.shuffled(using: &rng).prefix(6)) : Array(current.shuffled(using: &rng).prefix(6))
                let period = r % 3 == 0 ? "2024" : (r % 2 == 0 ? "2025" : "2026")
                var observations: [[String: Any]] = []
                for unit in units {
                    let total = Int.random(in: 500...5000, using: &rng)
                    observations.append(["unit": unit.rawValue, "period": period, "element": "households_total", "value": total])
                    observations.append(["unit": unit.rawValue, "period": period, "element": "households_with_fibre", "value": Int.random(in: 0...total, using: &rng)])
                }
                reports.append(["reportId": "crash-\(r)", "revision": 1, "observations": observations])
                if r % 3 == 1 {
                    var revised = Array(observations.dropLast(2))
                    revised[0]["value"] = (revised[0]["value"] as! Int) + 7
                    reports.append(["reportId": "crash-\(r)", "revision": 2, "observations": revised])
                }
            }
            let ids = Array(Set(reports.map { $0["reportId"] as! String })).sorted()

            let half = reports.count / 2
            for report in reports[..<half] {
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: report)
                #expect(response.status == 201, "\(response.text)")
            }
            var eventMessages = try await insertEvents((0..<150).map { i in
                let unit = current[i % current.count]
                return ("ev-\(i)", unit, Period.month(2026, 1 + i % 10), i % 2 == 0 ? ["dossiers_received_total", "dossiers_received_online"] : ["dossiers_received_total"])
            }, pipeline: pipeline, catalog: catalog)

            // Kill it while it is in the middle of the stream.
            let queued = try await count(pipeline, "SELECT count(*) FROM ingest.outbox")
            let killDeadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") < 3 {
                guard ContinuousClock.now < killDeadline else { throw TestFailure("dx-indicators applied nothing within 60 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
            pipeline.service(Pipeline.indicators).kill()
            let appliedAtKill = try await count(pipeline, "SELECT count(*) FROM engine.processed_messages")
            #expect(appliedAtKill < queued, "the kill came after everything was applied (\(appliedAtKill) of \(queued)); it must interrupt consumption")

            for report in reports[half...] {
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: report)
                #expect(response.status == 201, "\(response.text)")
            }
            eventMessages += try await insertEvents((150..<300).map { i in
                ("ev-\(i)", old[i % old.count], Period.month(2024, 1 + i % 12), ["dossiers_received_total"])
            }, pipeline: pipeline, catalog: catalog)

            try await pipeline.start([Pipeline.indicators])
            try await pipeline.waitUntilApplied(ids, token: token)
            let outboxCount = try await count(pipeline, "SELECT count(*) FROM ingest.outbox")
            let deadline = ContinuousClock.now + .seconds(90)
            while try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") < outboxCount {
                guard ContinuousClock.now < deadline else { throw TestFailure("not every message applied after restart") }
                try await Task.sleep(for: .milliseconds(200))
            }

            // Each accepted message applied exactly once.
            #expect(try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") == outboxCount)
            #expect(try await count(pipeline, """
                SELECT count(*) FROM ingest.outbox o WHERE NOT EXISTS (SELECT 1 FROM engine.processed_messages p WHERE p.message_id = o.message_id)
                """) == 0)
            #expect(eventMessages.count >= 2)

            // Every cell and indicator value equals a from-scratch recomputation over what dx-ingest accepted.
            let catalog = self.catalog
            let mismatches = try await pipeline.withAdmin { db in
                let audit = EngineAudit(catalog: catalog, database: db, logger: TestEnvironment.logger("audit"))
                let expected = audit.recompute(try await audit.acceptedInputs())
                let actual = try await audit.engineState()
                return (EngineAudit.compare(expected: expected, actual: actual), expected.cells.count, expected.indicators.count)
            }
            #expect(mismatches.0.isEmpty, "\(mismatches.0.count) mismatches, e.g. \(mismatches.0.prefix(5))")
            #expect(mismatches.1 > 500, "the recomputation covers \(mismatches.1) cells")
            #expect(mismatches.2 > 100)
            // The events' deltas were counted once: 150 + 75 dossiers in 2026, 150 in 2024.
            #expect(try await count(pipeline, "SELECT sum(value)::int FROM reporting.cell_values WHERE unit_code = 'VN' AND element_code = 'dossiers_received_total' AND period IN ('2024', '2026')") == 300)
            #expect(try await count(pipeline, "SELECT sum(value)::int FROM reporting.cell_values WHERE unit_code = 'VN' AND element_code = 'dossiers_received_online' AND period = '2026'") == 75)
        }
    }

    @Test("the relay publishing the same outbox message twice: dx-indicators applies it once")
    func relayDuplicateAppliedOnce() async throws {
        try await withPipeline("relay", services: [Pipeline.ingest, Pipeline.indicators]) { pipeline in
            let reader = try TopicReader(topic: pipeline.topics.observations, brokers: pipeline.brokers)
            let commune = communes(.current, count: 1, seed: 9)[0]
            let messageIDs = try await insertEvents([("dup-1", commune, .month(2026, 3), ["dossiers_received_total"])], pipeline: pipeline, catalog: catalog)
            let id = messageIDs[0]
            let applied = "SELECT count(*) FROM engine.processed_messages WHERE message_id = '\(id.uuidString.lowercased())'"
            let deadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, applied) == 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("message not applied") }
                try await Task.sleep(for: .milliseconds(100))
            }

            // As if the relay had crashed after publishing and before marking the row: it publishes again.
            try await pipeline.withAdmin { db in
                try await db.query("UPDATE ingest.outbox SET published_at = NULL WHERE message_id = \(id)")
            }
            let copies = try await reader.wait(for: "the message twice on the topic") { messages in
                messages.filter { (try? MessageCoding.decode(EnvelopeHeader.self, from: $0.value).id) == id }.count == 2
            }.filter { (try? MessageCoding.decode(EnvelopeHeader.self, from: $0.value).id) == id }
            #expect(copies.count == 2)

            // Wait until the consumer has moved past the second copy.
            let second = copies.max { $0.offset < $1.offset }!
            let offsetQuery = "SELECT coalesce(max(next_offset), 0)::int FROM engine.consumer_offsets WHERE topic = '\(second.topic)' AND partition = \(second.partition)"
            while try await count(pipeline, offsetQuery) <= Int(second.offset) {
                guard ContinuousClock.now < deadline + .seconds(30) else { throw TestFailure("consumer did not reach the second copy") }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await count(pipeline, applied) == 1)
            #expect(try await count(pipeline, "SELECT value::int FROM reporting.cell_values WHERE unit_code = '\(commune.rawValue)' AND period = '2026-03' AND element_code = 'dossiers_received_total'") == 1)
            #expect(try await count(pipeline, "SELECT value::int FROM reporting.cell_values WHERE unit_code = 'VN' AND period = '2026' AND element_code = 'dossiers_received_total'") == 1)
            let metrics = try await HTTP.get("\(pipeline.service(Pipeline.indicators).baseURL)/metrics")
            #expect(metrics.text.contains("dx_consumer_duplicates_total"))
            await reader.close()
        }
    }
}
