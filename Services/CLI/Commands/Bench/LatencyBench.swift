import ArgumentParser
import AsyncHTTPClient
import DXKafka
import DXModel
import DXStore
import Foundation
import Ingestion
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// `dx bench latency`: reports submitted through dx-ingest at a steady rate; for each, the delay
/// from its commit in dx-ingest to its commune's indicator values leaving dx-indicators.
///
/// Both ends are taken conservatively, so the delay is an upper bound: the start is the report's
/// `accepted_at` in ingest.report_revisions (the clock at the start of dx-ingest's transaction, before its
/// commit); the end is the Kafka timestamp of the dx.indicator-values.v1 message that carries the
/// commune's values (written by the outbox relay after dx-indicators committed them).
struct LatencyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Commit in dx-ingest → indicator value committed by dx-indicators, at a steady rate (p50, p99)."
    )

    @Option(help: "dx-ingest's URL (default: $DX_INGEST_URL or http://127.0.0.1:8080).") var ingestURL: String?
    @Option(help: "Kafka brokers (default: $DX_KAFKA_BROKERS or 127.0.0.1:9092).") var brokers: String?
    @Option(help: "The deployment's topic prefix (default: $DX_TOPIC_PREFIX).") var topicPrefix: String?
    @Option(help: "Observations per second to submit.") var rate = 5_000
    @Option(help: "Seconds to keep the rate.") var seconds = 30
    @Option(help: "Year whose months the reports fill: the current tree's communes exist from July 2025, and the engine bench fills 2025, so 2026 gives fresh cells.") var year = 2026
    @Option(help: "Seconds to wait for the last values.") var timeout = 120
    @Option(help: "Write each report's delay and its stages (ms) to this CSV file, in the order the reports were sent.") var delaysCSV: String?
    @Flag(help: "Only the warm-up (one report per province, until applied): for a freshly started dx-indicators before another bench.") var warmUpOnly = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokers = self.brokers ?? environment["DX_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        let topics = TopicNames(prefix: topicPrefix ?? environment["DX_TOPIC_PREFIX"] ?? "")
        let ingestURL = (self.ingestURL ?? environment["DX_INGEST_URL"] ?? "http://127.0.0.1:8080")
        let logger = database.logger
        let options = self
        try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
            try await options.measure(db: db, topics: topics, brokers: brokers, ingestURL: ingestURL, logger: logger)
        }
    }

    private func measure(db: Database, topics: TopicNames, brokers: String, ingestURL: String, logger: Logger) async throws {
        let catalog = try await CatalogRepository(database: db, logger: logger).read()
        let communes = BenchCatalog.communes(catalog)
        let perReport = BenchCatalog.elementCount
        let reportsPerSecond = max(1, Double(rate) / Double(perReport))
        let count = Int(reportsPerSecond * Double(seconds))
        // Months of the year that have ended (a period still running is refused as future).
        let today = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "Asia/Ho_Chi_Minh")!, from: Date())
        let months = year < today.year! ? 12 : max(0, today.month! - 1)
        // The last ended month is the warm-up's; the measured reports fill the months before it.
        guard months >= 2, count <= communes.count * (months - 1) else {
            throw ValidationError("\(count) reports need more than the \(communes.count * max(0, months - 1)) commune-months ended in \(year) before its last: lower --rate or --seconds")
        }
        let run = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
        // Report i: commune i mod N, month 1 + i / N — every report a fresh (commune, month).
        let reports: [(id: String, key: String, body: [UInt8])] = try (0..<count).map { i in
            let unit = communes[i % communes.count], month = 1 + i / communes.count
            let period = Period.month(year, month)
            var observations: [[String: Any]] = []
            for pair in 1...(perReport / 2) {
                let denominator = 1000 + (i * 7 + pair * 13) % 4000
                observations.append(["element": BenchCatalog.elementCode(2 * pair - 1), "value": (i + pair * 31) % denominator])
                observations.append(["element": BenchCatalog.elementCode(2 * pair), "value": denominator])
            }
            let body: [String: Any] = ["reportId": "latency-\(run)-\(i)", "revision": 1, "unit": unit.rawValue, "period": period.description, "observations": observations]
            return ("latency-\(run)-\(i)", "\(unit)/\(period)", Array(try JSONSerialization.data(withJSONObject: body)))
        }
        let token = try await TokenStore(database: db, logger: logger).create(unit: .country, name: "dx bench latency \(run)").secret
        // Warm-up: one report per province first. dx-indicators loads a province's state from
        // PostgreSQL the first time a message for it arrives after a start; that is a cost of
        // starting, measured and printed here, not the steady-state delay measured after it.
        let onePerProvince = Dictionary(grouping: communes, by: { catalog.units.province(of: $0) ?? $0 }).values.compactMap(\.first).sorted()
        // Values of this run (a report with a cell's current values would change nothing, and
        // publish nothing to wait for).
        let warmPeriod = Period.month(year, months)
        let warmUp: [(id: String, key: String, body: [UInt8])] = try onePerProvince.map { unit in
            let observations = (1...perReport).map { i in
                ["element": BenchCatalog.elementCode(i), "value": i % 2 == 0 ? 1000 : Int.random(in: 1...999)] as [String: Any]
            }
            let body: [String: Any] = ["reportId": "latency-\(run)-warm-\(unit)", "revision": 1, "unit": unit.rawValue, "period": warmPeriod.description, "observations": observations]
            return ("latency-\(run)-warm-\(unit)", "\(unit)/\(warmPeriod)", Array(try JSONSerialization.data(withJSONObject: body)))
        }
        let reader = try IndicatorValueReader(topic: topics.indicatorValues, brokers: brokers, wanted: Set(reports.map(\.key) + warmUp.map(\.key)), logger: logger)
        defer { reader.stop() }
        try await reader.waitForAssignment()
        let warmStart = ContinuousClock.now
        for report in warmUp {
            if let problem = try await submit(report.body, id: report.id, ingestURL: ingestURL, token: token) { throw CLIError(problem) }
        }
        while Set(reader.received.keys).isSuperset(of: warmUp.map(\.key)) == false {
            guard ContinuousClock.now - warmStart < .seconds(timeout * 5) else { throw CLIError("the warm-up reports were not applied within \(timeout * 5) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let warmSeconds = (ContinuousClock.now - warmStart).seconds
        if warmUpOnly {
            print(String(format: "warm-up: one report per province (%d) applied %.1f s after the first was sent", onePerProvince.count, warmSeconds))
            return
        }

        printError("latency: \(count) reports of \(perReport) observations, \(String(format: "%.0f", reportsPerSecond)) reports/s (\(rate) obs/s) for \(seconds) s through \(ingestURL)")
        let start = ContinuousClock.now
        // Each request answers nil when accepted, else why not; the first few reasons are printed.
        let refused = try await withThrowingTaskGroup(of: String?.self) { group in
            var inFlight = 0, refused = 0
            func note(_ problem: String?) {
                guard let problem else { return }
                refused += 1
                if refused <= 3 { printError(problem) }
            }
            for (i, report) in reports.enumerated() {
                let due = start + .seconds(Double(i) / reportsPerSecond)
                if due > ContinuousClock.now { try await Task.sleep(until: due) }
                if inFlight >= 64, let answer = try await group.next() { inFlight -= 1; note(answer) }
                inFlight += 1
                group.addTask { try await submit(report.body, id: report.id, ingestURL: ingestURL, token: token) }
            }
            for try await answer in group { note(answer) }
            return refused
        }
        let submitSeconds = (ContinuousClock.now - start).seconds
        let deadline = ContinuousClock.now + .seconds(timeout)
        let measured = Set(reports.map(\.key))
        while reader.received.keys.filter(measured.contains).count < measured.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let received = reader.received.filter { measured.contains($0.key) }

        var accepted: [String: Date] = [:]
        let keyByID = Dictionary(uniqueKeysWithValues: reports.map { ($0.id, $0.key) })
        for try await (id, at) in try await db.query("""
            SELECT report_id, accepted_at FROM ingest.report_revisions WHERE report_id LIKE \("latency-\(run)-%")
            """).decode((String, Date).self) {
            if let key = keyByID[id] { accepted[key] = at }
        }
        let delays = Delays(received.compactMap { key, at in accepted[key].map { at.timeIntervalSince($0) * 1000 } })
        let submitted = Double(count * perReport) / submitSeconds
        print("\nDX Pulse latency bench — commit in dx-ingest → indicator values out of dx-indicators, steady load")
        print(String(format: "  warm-up: one report per province (%d) applied %.1f s after the first was sent (dx-indicators loading each province's state once after its start)", onePerProvince.count, warmSeconds))
        print("  submitted: \(count) reports × \(perReport) observations in \(String(format: "%.1f", submitSeconds)) s = \(Int(submitted)) obs/s (asked \(rate)); \(refused) refused")
        guard let max = delays.sorted.last else {
            print("  no indicator values arrived within \(timeout) s")
            throw ExitCode(1)
        }
        let p99 = delays.percentile(0.99)
        print(String(format: "  delay: p50 %.0f ms, p99 %.0f ms, max %.0f ms over %d reports (%d of %d arrived)%@",
                     delays.percentile(0.5), p99, max, delays.sorted.count, received.count, reports.count,
                     p99 < 1000 ? "; p99 under one second" : "; p99 NOT under one second"))
        let stages = try await stageDelays(run: run, keyByID: keyByID, received: received, db: db)
        if !stages.isEmpty {
            for (name, values) in [("dx-ingest: accepted → observations acknowledged by the broker", stages.values.map(\.ingest)),
                                   ("hop: → dx-indicators starts the batch that holds them", stages.values.map(\.hop)),
                                   ("dx-indicators: batch, commit, relay → values' Kafka timestamp", stages.values.map(\.engine))] {
                let stage = Delays(values)
                print(String(format: "    %@: p50 %.0f ms, p99 %.0f ms", name, stage.percentile(0.5), stage.percentile(0.99)))
            }
        }
        if let delaysCSV {
            var csv = "report,accepted_at,delay_ms,ingest_ms,hop_ms,engine_ms\n"
            for report in reports {
                guard let start = accepted[report.key], let end = received[report.key] else { continue }
                let stage = stages[report.key].map { String(format: "%.1f,%.1f,%.1f", $0.ingest, $0.hop, $0.engine) } ?? ",,"
                csv += String(format: "%@,%.3f,%.1f,", report.id, start.timeIntervalSince1970, end.timeIntervalSince(start) * 1000) + stage + "\n"
            }
            try csv.write(toFile: delaysCSV, atomically: true, encoding: .utf8)
            print("  each report's delay and stages: \(delaysCSV)")
        }
    }
}

extension LatencyBench {
    /// Where each report's delay went (ms, by its `unit/period` key), from the timestamps the
    /// services leave in PostgreSQL: dx-ingest's commit and relay (accepted → the broker
    /// acknowledged the observations' message), the hop to dx-indicators and its wait for a turn
    /// (→ the start of the batch's transaction), and the batch, its commit and the relay of its
    /// values (→ the values' Kafka timestamp).
    private func stageDelays(run: String, keyByID: [String: String], received: [String: Date], db: Database) async throws
        -> [String: (ingest: Double, hop: Double, engine: Double)] {
        var byKey: [String: (ingest: Double, hop: Double, engine: Double)] = [:]
        let rows = try await db.query("""
            SELECT r.report_id, r.accepted_at, o.published_at, p.processed_at
            FROM ingest.report_revisions r
            JOIN ingest.outbox o ON o.message_id = r.message_ids[1]
            JOIN (SELECT message_id, min(processed_at) AS processed_at FROM engine.processed_messages GROUP BY message_id) p
              ON p.message_id = r.message_ids[1]
            WHERE r.report_id LIKE \("latency-\(run)-%") AND o.published_at IS NOT NULL
            """)
        for try await (id, accepted, published, processed) in rows.decode((String, Date, Date, Date).self) {
            guard let key = keyByID[id], let out = received[key] else { continue }
            byKey[key] = (published.timeIntervalSince(accepted) * 1000, processed.timeIntervalSince(published) * 1000,
                          out.timeIntervalSince(processed) * 1000)
        }
        return byKey
    }
}

/// POSTs one report; nil when dx-ingest accepted it, else why not.
private func submit(_ body: [UInt8], id: String, ingestURL: String, token: String) async throws -> String? {
    var request = HTTPClientRequest(url: "\(ingestURL)/v1/reports")
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer \(token)")
    request.headers.add(name: "Content-Type", value: "application/json")
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
    guard response.status.code / 100 == 2 else { return "report \(id): dx-ingest answered \(response.status.code): \(text.prefix(300))" }
    return nil
}

/// Reads dx.indicator-values.v1 from its end with a group of its own and notes when each wanted
/// `unit/period` first appeared (the message's Kafka timestamp).
private final class IndicatorValueReader: Sendable {
    /// Only what the bench needs of a value: decoding the numbers would cost more than the rest.
    private struct Values: Codable, Sendable {
        struct Value: Codable, Sendable { var unit: String; var period: String }
        var values: [Value]
    }

    private final class Assigned: KafkaRebalanceHandler, Sendable {
        let done = Atomic<Bool>(false)
        func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
            done.store(true, ordering: .releasing)
            return [:]
        }
        func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
    }

    private let consumer: KafkaConsumer
    private let assigned = Assigned()
    private final class Seen: Sendable {
        let times = Mutex<[String: Date]>([:])
    }
    private let seen = Seen()

    init(topic: String, brokers: String, wanted: Set<String>, logger: Logger) throws {
        var configuration = KafkaConsumerConfiguration(client: .init(bootstrapServers: brokers, clientID: "dx-bench-latency"),
                                                       groupID: "dx-bench-latency-\(UInt32.random(in: 0..<UInt32.max))", topics: [topic])
        configuration.startFromBeginning = false
        consumer = try KafkaConsumer(configuration: configuration, rebalanceHandler: assigned, logger: logger)
        let consumer = self.consumer
        Task { [seen] in
            for await batch in consumer.batches {
                let now = Date()
                for message in batch {
                    guard let envelope = try? MessageCoding.decode(Envelope<Values>.self, from: message.value) else { continue }
                    let at = message.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
                    seen.times.withLock { times in
                        for value in envelope.data.values {
                            let key = "\(value.unit)/\(value.period)"
                            if wanted.contains(key), times[key] == nil { times[key] = at }
                        }
                    }
                }
            }
        }
    }

    /// Returns once the group has its partitions and the reader sits at their end.
    func waitForAssignment() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !assigned.done.load(ordering: .acquiring) {
            guard ContinuousClock.now < deadline else { throw CLIError("the latency reader got no partitions within 60 s") }
            try await Task.sleep(for: .milliseconds(100))
        }
        // "latest" is resolved when fetching starts, just after the assignment.
        try await Task.sleep(for: .seconds(2))
    }

    var received: [String: Date] { seen.times.withLock { $0 } }

    func stop() { consumer.stop() }
}
