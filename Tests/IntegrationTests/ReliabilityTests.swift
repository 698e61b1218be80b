import DXModel
import DXStore
import Foundation
import Indicators
import Logging
import Testing

/// A `dossier_received` event for `POST /v1/events`, in the middle of `month` (Vietnam time).
func receivedEvent(_ id: String, unit: UnitCode, month: Period, online: Bool) -> [String: Any] {
    ["eventId": id, "kind": "dossier_received", "unit": unit.rawValue, "channel": online ? "online" : "offline",
     "occurredAt": "\(month.description)-15T10:00:00+07:00"]
}

/// Submits events through dx-ingest's API and checks they were all newly accepted.
@discardableResult
func postEvents(_ events: [[String: Any]], pipeline: Pipeline, token: String) async throws -> [String: Any] {
    let response = try await HTTP.post("\(pipeline.ingestURL)/v1/events", token: token, events: events)
    guard response.status == 200 else { throw TestFailure("POST /v1/events answered \(response.status): \(response.text)") }
    let receipt = try response.json()
    guard receipt["accepted"] as? Int == events.count else { throw TestFailure("not every event accepted: \(response.text)") }
    return receipt
}

/// Count of rows a query returns as one integer.
func count(_ pipeline: Pipeline, _ sql: String) async throws -> Int {
    try await pipeline.withAdmin { db in
        var result = 0
        for try await value in try await db.query(PostgresQueryText(sql).query).decode(Int.self) { result = value }
        return result
    }
}

/// A query's (partition, offset) rows as a dictionary.
func offsetsByPartition(_ pipeline: Pipeline, _ sql: String) async throws -> [Int: Int] {
    try await pipeline.withAdmin { db in
        var result: [Int: Int] = [:]
        for try await (partition, offset) in try await db.query(PostgresQueryText(sql).query).decode((Int, Int).self) { result[partition] = offset }
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
            try await postEvents((0..<150).map { i in
                receivedEvent("ev-\(i)", unit: current[i % current.count], month: .month(2026, 1 + i % 10), online: i % 2 == 0)
            }, pipeline: pipeline, token: token)

            // Kill it while it is in the middle of the stream. It starts once the first half is
            // queued, one message per transaction, and from its third message on PostgreSQL holds
            // each transaction for 200 ms (a trigger, dropped before the restart), so the stream
            // lasts about 35 s after the third: a window to hit however late this task runs. Without
            // the trigger, under a full test run (the cooperative pool busy with other suites' CPU
            // work), the kill came after the whole stream (CI, three times: 177 of 177).
            try await pipeline.withAdmin { db in
                _ = try await db.query("""
                    CREATE FUNCTION engine.test_hold_after_three() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
                    BEGIN
                        IF (SELECT count(*) FROM engine.processed_messages) >= 3 THEN PERFORM pg_sleep(0.2); END IF;
                        RETURN NEW;
                    END $$
                    """)
                _ = try await db.query("""
                    CREATE TRIGGER test_hold_after_three AFTER INSERT ON engine.processed_messages
                    FOR EACH ROW EXECUTE FUNCTION engine.test_hold_after_three()
                    """)
            }
            let queued = try await count(pipeline, "SELECT count(*) FROM ingest.outbox")
            // Not waiting for /ready: the loop below waits for its first transactions instead.
            try await pipeline.start([Pipeline.indicators], extraEnvironment: ["DX_CONSUMER_BATCH_SIZE": "1"], wait: false)
            let killDeadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") < 3 {
                guard ContinuousClock.now < killDeadline else { throw TestFailure("dx-indicators applied nothing within 60 s") }
                try await Task.sleep(for: .milliseconds(5))
            }
            pipeline.service(Pipeline.indicators).kill()
            let appliedAtKill = try await count(pipeline, "SELECT count(*) FROM engine.processed_messages")
            #expect(appliedAtKill < queued, "the kill came after everything was applied (\(appliedAtKill) of \(queued)); it must interrupt consumption")
            try await pipeline.withAdmin { db in
                _ = try await db.query("DROP TRIGGER test_hold_after_three ON engine.processed_messages")
                _ = try await db.query("DROP FUNCTION engine.test_hold_after_three()")
            }

            for report in reports[half...] {
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: report)
                #expect(response.status == 201, "\(response.text)")
            }
            try await postEvents((150..<300).map { i in
                receivedEvent("ev-\(i)", unit: old[i % old.count], month: .month(2024, 1 + i % 12), online: false)
            }, pipeline: pipeline, token: token)

            try await pipeline.start([Pipeline.indicators])
            try await pipeline.waitUntilApplied(ids, token: token)
            let outboxCount = try await pipeline.waitUntilEveryMessageApplied(timeout: .seconds(90))

            // Each accepted message applied exactly once.
            #expect(try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") == outboxCount)
            #expect(try await count(pipeline, """
                SELECT count(*) FROM ingest.outbox o WHERE NOT EXISTS (SELECT 1 FROM engine.processed_messages p WHERE p.message_id = o.message_id)
                """) == 0)
            #expect(try await count(pipeline, "SELECT count(DISTINCT message_id) FROM ingest.events") >= 2)

            // Every cell and indicator value equals a from-scratch recomputation over what dx-ingest accepted.
            let mismatches = try await pipeline.auditEngine(catalog: catalog)
            #expect(mismatches.0.isEmpty, "\(mismatches.0.count) mismatches, e.g. \(mismatches.0.prefix(5))")
            #expect(mismatches.1 > 500, "the recomputation covers \(mismatches.1) cells")
            #expect(mismatches.2 > 100)
            // The events' deltas were counted once: 150 + 75 dossiers in 2026, 150 in 2024.
            #expect(try await count(pipeline, "SELECT sum(value)::int FROM reporting.cell_values WHERE unit_code = 'VN' AND element_code = 'dossiers_received_total' AND period IN ('2024', '2026')") == 300)
            #expect(try await count(pipeline, "SELECT sum(value)::int FROM reporting.cell_values WHERE unit_code = 'VN' AND element_code = 'dossiers_received_online' AND period = '2026'") == 75)
        }
    }

    @Test("Kafka frozen (SIGSTOP): reports and events still get 2xx; after SIGCONT every one arrives downstream exactly once")
    func kafkaFrozen() async throws {
        // A broker of this test's own: freezing the shared one would stall every other test.
        let tansu = try TansuProcess()
        try await tansu.start()
        defer { tansu.stop() }
        let pipeline = try await Pipeline(label: "frozen", brokers: tansu.brokers)
        do {
            try await pipeline.start([Pipeline.ingest, Pipeline.indicators])
            let token = try await pipeline.token(unit: "VN")
            let current = communes(.current, count: 40, seed: 31)
            let old = communes(.pre2025, count: 20, seed: 32)

            // First the pipeline runs: the consumer has joined and applied something.
            let warm = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: [
                "reportId": "frozen-warm", "revision": 1, "unit": current[0].rawValue, "period": "2025",
                "observations": [["element": "households_total", "value": 900], ["element": "households_with_fibre", "value": 400]],
            ])
            #expect(warm.status == 201, "\(warm.text)")
            try await pipeline.waitUntilApplied(["frozen-warm"], token: token)
            let outboxBefore = try await count(pipeline, "SELECT coalesce(max(id), 0)::int FROM ingest.outbox")

            tansu.freeze()
            var ids: [String] = []
            var rng = SeededGenerator(seed: 33)
            for r in 0..<12 {
                let units = r % 4 == 0 ? Array(old.shuffled(using: &rng).prefix(5)) : Array(current.shuffled(using: &rng).prefix(5))
                let period = r % 4 == 0 ? "2024" : "2025"
                var observations: [[String: Any]] = []
                for unit in units {
                    let total = Int.random(in: 100...3000, using: &rng)
                    observations.append(["unit": unit.rawValue, "period": period, "element": "households_total", "value": total])
                    observations.append(["unit": unit.rawValue, "period": period, "element": "households_with_fibre", "value": Int.random(in: 0...total, using: &rng)])
                }
                let id = "frozen-\(r)"
                ids.append(id)
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: ["reportId": id, "revision": 1, "observations": observations])
                #expect(response.status == 201, "a report is committed while Kafka is frozen: \(response.text)")
                if r % 3 == 0 {
                    // A revision while frozen too: the engine must end with revision 2's values.
                    let revised = ["reportId": id, "revision": 2, "observations": Array(observations.dropLast(2))] as [String: Any]
                    let second = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: revised)
                    #expect(second.status == 201, "\(second.text)")
                }
            }
            // CSV as well: the other body format goes through the same store.
            let csv = "unit,period,element,value\n\(current[1].rawValue),2025,households_total,700\n\(current[1].rawValue),2025,households_with_fibre,350\n"
            let csvResponse = try await HTTP.post("\(pipeline.ingestURL)/v1/reports?reportId=frozen-csv&revision=1", token: token, csv: csv)
            #expect(csvResponse.status == 201, "\(csvResponse.text)")
            ids.append("frozen-csv")
            for batch in 0..<3 {
                try await postEvents((0..<40).map { i in
                    receivedEvent("frozen-ev-\(batch)-\(i)", unit: current[(batch * 40 + i) % current.count], month: .month(2026, 1 + i % 9), online: i % 3 == 0)
                }, pipeline: pipeline, token: token)
            }
            // Nothing written while frozen can have been published: the broker acknowledged nothing.
            let written = try await count(pipeline, "SELECT count(*) FROM ingest.outbox WHERE id > \(outboxBefore)")
            #expect(written >= 12 + 4 + 1 + 3)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox WHERE id > \(outboxBefore) AND published_at IS NOT NULL") == 0)

            tansu.thaw()
            try await pipeline.waitUntilApplied(ids, token: token, timeout: .seconds(180))
            let outboxCount = try await pipeline.waitUntilEveryMessageApplied(timeout: .seconds(120))
            // Each accepted message published and applied exactly once.
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox WHERE published_at IS NULL") == 0)
            #expect(try await count(pipeline, "SELECT count(*) FROM engine.processed_messages") == outboxCount)
            #expect(try await count(pipeline, """
                SELECT count(*) FROM ingest.outbox o WHERE NOT EXISTS (SELECT 1 FROM engine.processed_messages p WHERE p.message_id = o.message_id)
                """) == 0)

            let audit = try await pipeline.auditEngine(catalog: catalog)
            #expect(audit.mismatches.isEmpty, "\(audit.mismatches.count) mismatches, e.g. \(audit.mismatches.prefix(5))")
            #expect(audit.cells > 100)
            #expect(try await count(pipeline, "SELECT sum(value)::int FROM engine.cells WHERE unit = 'VN' AND element = 'dossiers_received_total' AND period = '2026'") == 120)
            pipeline.stop()
        } catch {
            let logs = pipeline.logs()
            pipeline.stop()
            throw TestFailure("\(error)\n\(logs)\n--- tansu:\n\(tansu.log())")
        }
    }

    @Test("the broker restarted empty (Tansu keeps its log in memory) while PostgreSQL kept the offsets, and its new log grew past them before dx-indicators looked: every report is applied, the one the broker lost after `dx outbox resend`, and all equal a recomputation")
    func brokerRestartedEmpty() async throws {
        let first = try TansuProcess()
        try await first.start()
        defer { first.stop() }
        let pipeline = try await Pipeline(label: "emptied", brokers: first.brokers)
        var second: TansuProcess?
        do {
            try await pipeline.start([Pipeline.ingest, Pipeline.indicators])
            let token = try await pipeline.token(unit: "VN")
            let current = communes(.current, count: 40, seed: 41)
            var rng = SeededGenerator(seed: 42)
            func report(_ id: String, revision: Int, units: some Sequence<UnitCode>) -> [String: Any] {
                var observations: [[String: Any]] = []
                for unit in units {
                    let total = Int.random(in: 100...3000, using: &rng)
                    observations.append(["unit": unit.rawValue, "period": "2025", "element": "households_total", "value": total])
                    observations.append(["unit": unit.rawValue, "period": "2025", "element": "households_with_fibre", "value": Int.random(in: 0...total, using: &rng)])
                }
                return ["reportId": id, "revision": revision, "observations": observations]
            }
            func send(_ body: [String: Any]) async throws {
                let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: body)
                #expect(response.status == 201, "\(response.text)")
            }
            let ids = current.indices.map { "emptied-\($0)" }
            for (id, unit) in zip(ids, current) { try await send(report(id, revision: 1, units: [unit])) }
            try await pipeline.waitUntilApplied(ids, token: token)
            let storedBefore = try await offsetsByPartition(pipeline, "SELECT partition, next_offset FROM engine.consumer_offsets")
            let outboxBefore = try await count(pipeline, "SELECT max(id)::int FROM ingest.outbox")

            // One report the broker acknowledges and then loses, with dx-indicators stopped.
            _ = pipeline.service(Pipeline.indicators).terminate()
            try await send(report("emptied-lost", revision: 1, units: communes(.current, count: 1, seed: 44)))
            try await pipeline.waitUntilOutboxPublished(timeout: .seconds(60))

            // Everything stops; the broker comes back on the same port with nothing in it.
            pipeline.stop()
            first.stop()
            let empty = try TansuProcess(port: first.port)
            second = empty
            try await empty.start()

            // dx-ingest alone at first: revisions of every report and two new ones fill the new log
            // to at least where the stored offsets point, so its end alone cannot tell it is new.
            try await pipeline.start([Pipeline.ingest])
            for (id, unit) in zip(ids, current) { try await send(report(id, revision: 2, units: [unit])) }
            try await send(report("emptied-after-1", revision: 1, units: current[1...2]))
            try await send(report("emptied-after-2", revision: 1, units: communes(.current, count: 1, seed: 43)))
            try await pipeline.waitUntilOutboxPublished(timeout: .seconds(60))

            try await pipeline.start([Pipeline.indicators])
            try await pipeline.waitUntilApplied(ids + ["emptied-after-1", "emptied-after-2"], token: token, timeout: .seconds(60))
            let log = pipeline.service(Pipeline.indicators).log()
            #expect(log.contains("stored offset does not point into this log") && log.contains("holds another message than the one applied last"),
                    "dx-indicators says why it reads the log from its beginning")
            // Every partition's new log reaches past the old stored offset.
            let newLogEnds = try await offsetsByPartition(pipeline, """
                SELECT p.partition, max(p."offset") + 1 FROM engine.processed_messages p JOIN ingest.outbox o USING (message_id)
                WHERE o.id > \(outboxBefore) GROUP BY p.partition
                """)
            #expect(!storedBefore.isEmpty && storedBefore.allSatisfy { partition, stored in (newLogEnds[partition] ?? 0) >= stored },
                    "stored \(storedBefore), new log ends \(newLogEnds)")

            // The lost report's message is gone with the first broker: published, never applied,
            // until the operator sends it again.
            let lost = try await HTTP.get("\(pipeline.ingestURL)/v1/reports/emptied-lost", token: token)
            #expect(try lost.json()["status"] as? String == "published", "\(lost.text)")
            let dryRun = try runDX(["outbox", "resend", "--older-than", "0", "--dry-run"], pipeline: pipeline)
            #expect(dryRun.status == 0 && dryRun.output.contains("1 message(s) published more than 0 s ago and not applied by dx-indicators"), "\(dryRun.output)")
            let resend = try runDX(["outbox", "resend", "--older-than", "0"], pipeline: pipeline)
            #expect(resend.status == 0 && resend.output.contains("1 message(s) published more than 0 s ago and not applied by dx-indicators: dx-ingest sends them again"),
                    "\(resend.output)")
            try await pipeline.waitUntilApplied(["emptied-lost"], token: token, timeout: .seconds(60))
            let again = try runDX(["outbox", "resend", "--older-than", "0"], pipeline: pipeline)
            #expect(again.status == 0 && again.output.contains("0 message(s) to send again: dx-indicators applied every message published more than 0 s ago"),
                    "nothing left to send: \(again.output)")

            let audit = try await pipeline.auditEngine(catalog: catalog)
            #expect(audit.mismatches.isEmpty, "\(audit.mismatches.count) mismatches, e.g. \(audit.mismatches.prefix(5))")
            #expect(audit.cells > 40)
            pipeline.stop()
            second?.stop()
        } catch {
            let logs = pipeline.logs()
            pipeline.stop()
            second?.stop()
            throw TestFailure("\(error)\n\(logs)\n--- tansu:\n\(second?.log() ?? first.log())")
        }
    }

    @Test("the relay publishing the same outbox message twice: dx-indicators applies it once")
    func relayDuplicateAppliedOnce() async throws {
        try await withPipeline("relay", services: [Pipeline.ingest, Pipeline.indicators]) { pipeline in
            let reader = try TopicReader(topic: pipeline.topics.observations, brokers: pipeline.brokers)
            let commune = communes(.current, count: 1, seed: 9)[0]
            let token = try await pipeline.token(unit: "VN")
            try await postEvents([receivedEvent("dup-1", unit: commune, month: .month(2026, 3), online: false)], pipeline: pipeline, token: token)
            let id = try await pipeline.withAdmin { db in
                var found: UUID?
                for try await value in try await db.query("SELECT message_id FROM ingest.events WHERE event_id = 'dup-1'").decode(UUID.self) { found = value }
                return try #require(found)
            }
            let applied = "SELECT count(*) FROM engine.processed_messages WHERE message_id = '\(id.uuidString.lowercased())'"
            let deadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, applied) == 0 {
                guard ContinuousClock.now < deadline else { throw TestFailure("message not applied") }
                try await Task.sleep(for: .milliseconds(100))
            }

            // As if the relay had crashed after publishing and before marking the row: it publishes again.
            _ = try await pipeline.withAdmin { db in
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
            let metrics = try await pipeline.service(Pipeline.indicators).metrics()
            #expect(metrics.text.contains("dx_consumer_duplicates_total"))
            await reader.close()
        }
    }
}
