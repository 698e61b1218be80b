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

/// `dx bench alerts`: dx-alerts measured against running services (a bench deployment: it writes
/// synthetic data). Two numbers:
/// 1. throughput — synthetic indicator-value changes (real communes and indicators, series over
///    ten years with outliers, so every value rule has work) produced straight onto
///    dx.indicator-values.v1, timed until dx-alerts has applied all of them;
/// 2. latency — reports submitted through dx-ingest, each making one commune's fibre rate fall
///    below target; for each the time from its indicator value's commit (updated_at, set in
///    dx-indicators' transaction, read through reporting.indicator_values) to the alert's timestamp
///    on dx.alerts.v1.
struct AlertsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Measure dx-alerts: indicator changes evaluated per second, and commit-to-alert latency (p50, p99)."
    )

    @Option(help: "Synthetic indicator changes for the throughput run.")
    var changes = 50_000
    @Option(help: "Reports for the latency run (one alert each).")
    var reports = 200
    @Option(help: "Reports submitted per second in the latency run.")
    var rate = 10
    @Option(help: "dx-ingest's URL (default: $DX_INGEST_URL or http://127.0.0.1:8080).")
    var ingestURL: String?
    @Option(help: "Kafka brokers (default: $DX_KAFKA_BROKERS or 127.0.0.1:9092).")
    var brokers: String?
    @Option(help: "The deployment's topic prefix (default: $DX_TOPIC_PREFIX).")
    var topicPrefix: String?
    @Option(help: "dx-alerts' consumer name (default: the prefix and dx-alerts).")
    var alertsGroup: String?
    @Option(help: "Seconds to wait for each phase to finish.")
    var timeout = 600
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let brokers = self.brokers ?? environment["DX_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
        let topics = TopicNames(prefix: topicPrefix ?? environment["DX_TOPIC_PREFIX"] ?? "")
        let group = alertsGroup ?? topics.prefix + "dx-alerts"
        let ingestURL = self.ingestURL ?? environment["DX_INGEST_URL"] ?? "http://127.0.0.1:8080"
        let logger = database.logger
        let options = self
        try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
            let catalog = try await CatalogRepository(database: db, logger: logger).read()
            let rules = try await CatalogRepository(database: db, logger: logger).readAlertRules()
            print("dx-alerts bench: \(rules.count) rules on (\(rules.map(\.code).joined(separator: ", ")))")
            let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "dx-bench")), logger: logger)
            defer { Task { await producer.shutdown() } }
            try await options.throughput(db: db, catalog: catalog, producer: producer, topics: topics, group: group, logger: logger)
            try await options.latency(db: db, catalog: catalog, topics: topics, brokers: brokers, ingestURL: ingestURL, logger: logger)
        }
    }

    // MARK: - Throughput

    private func throughput(db: Database, catalog: Catalog, producer: KafkaProducer, topics: TopicNames, group: String, logger: Logger) async throws {
        var rng = SystemRandomNumberGenerator()
        let communes = catalog.units.units.values.filter { $0.tree == .current && $0.level == .commune }.map(\.code).sorted()
        let indicators = catalog.indicators.values.filter { catalog.target(for: $0.code, period: .year(2020)) != nil && $0.kind == .ratio }
            .map(\.code).sorted()
        guard !communes.isEmpty, !indicators.isEmpty else { throw CLIError("the catalog has no communes or no indicators with targets") }
        let years = Array(2011...2020)
        // Each series: ten years of a random walk, with a wild value now and then.
        let seriesCount = max(1, changes / years.count)
        var byProvince: [UnitCode: [IndicatorValueChange]] = [:]
        for _ in 0..<seriesCount {
            let unit = communes.randomElement(using: &rng)!
            let indicator = indicators.randomElement(using: &rng)!
            var value = Quantity(Int.random(in: 10...90, using: &rng))
            var previous: Quantity?
            for year in years {
                value += Quantity(Int.random(in: -6...8, using: &rng))
                var shown = max(0, value)
                if Int.random(in: 0..<40, using: &rng) == 0 { shown = Quantity(Int.random(in: 95...130, using: &rng)) }
                let period = Period.year(year)
                let target = catalog.target(for: indicator, period: period)
                let current = IndicatorValue(
                    value: shown, numerator: shown * 10, denominator: 1000, completeness: 1,
                    target: target?.value, targetYear: target?.year, gap: target.map { $0.value - shown }, meetsTarget: target.map { $0.isMet(by: shown) }
                )
                let change = IndicatorValueChange(unit: unit, unitName: catalog.units[unit]?.name ?? unit.rawValue, level: .commune, period: period,
                                                  indicator: indicator, current: current, previous: previous.map { IndicatorValue(value: $0, completeness: 1) })
                byProvince[catalog.units.province(of: unit) ?? unit, default: []].append(change)
                previous = shown
            }
        }
        var messages: [KafkaOutgoingMessage] = []
        var ids: [UUID] = []
        var total = 0
        for (province, values) in byProvince.sorted(by: { $0.key < $1.key }) {
            for start in stride(from: 0, to: values.count, by: 500) {
                let chunk = Array(values[start..<min(values.count, start + 500)])
                let envelope = Envelope(schema: IndicatorValueBatch.schema, source: "dx-bench", data: IndicatorValueBatch(province: province, values: chunk))
                ids.append(envelope.id)
                total += chunk.count
                messages.append(KafkaOutgoingMessage(topic: topics.indicatorValues, key: province.rawValue, value: try MessageCoding.encode(envelope)))
            }
        }
        let transitionsBefore = try await scalar(db, "SELECT count(*)::bigint FROM alerting.transitions")
        print("throughput: \(total) indicator changes in \(messages.count) messages onto \(topics.indicatorValues)")
        let start = ContinuousClock.now
        let reports = await producer.send(messages)
        if let failure = reports.first(where: { $0.error != nil })?.error { throw CLIError("producing failed: \(failure)") }
        let produced = ContinuousClock.now - start
        let deadline = start + .seconds(timeout)
        var applied = 0
        while applied < ids.count {
            applied = Int(try await scalar(db, "SELECT count(*)::bigint FROM alerting.processed_messages WHERE consumer = \(group) AND message_id = ANY(\(ids))"))
            if applied >= ids.count { break }
            guard ContinuousClock.now < deadline else {
                throw CLIError("dx-alerts (consumer \(group)) applied \(applied) of \(ids.count) messages in \(timeout) s: is it running on these topics?")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let elapsed = ContinuousClock.now - start
        let transitions = try await scalar(db, "SELECT count(*)::bigint FROM alerting.transitions") - transitionsBefore
        let seconds = elapsed.seconds
        print(String(format: "  %d changes evaluated by every rule in %.2f s (producing took %.2f s): %.0f indicator changes/s; %lld transitions",
                     total, seconds, produced.seconds, Double(total) / seconds, transitions))
        // The latency run measures a steady state: not alerts queued behind this run's in the outbox.
        while try await scalar(db, "SELECT count(*)::bigint FROM alerting.outbox WHERE published_at IS NULL") > 0 {
            guard ContinuousClock.now < deadline else { throw CLIError("dx-alerts' outbox still had unpublished alerts after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(100))
        }
        print(String(format: "  every alert message of those transitions published %.2f s after the first change was produced", (ContinuousClock.now - start).seconds))
    }

    // MARK: - Latency

    private func latency(db: Database, catalog: Catalog, topics: TopicNames, brokers: String, ingestURL: String, logger: Logger) async throws {
        guard reports > 0 else { return }
        var rng = SystemRandomNumberGenerator()
        let communes = catalog.units.units.values.filter { $0.tree == .pre2025 && $0.level == .commune }.map(\.code).sorted()
        let indicator = "household_fibre_rate"
        // Fresh (commune, year) pairs whose alert is not open, so each report makes one new alert.
        var picks: [(UnitCode, Period, String)] = []
        var seen = Set<String>()
        while picks.count < reports * 2 {
            let unit = communes.randomElement(using: &rng)!
            let period = Period.year(Int.random(in: 1990...2024, using: &rng))
            let fingerprint = AlertFingerprint.make(rule: "below_target", unit: unit, indicator: indicator, period: period)
            if seen.insert(fingerprint).inserted { picks.append((unit, period, fingerprint)) }
        }
        var open = Set<String>()
        for try await fingerprint in try await db.query("""
            SELECT fingerprint FROM alerting.alerts WHERE status <> 'resolved' AND fingerprint = ANY(\(picks.map(\.2)))
            """).decode(String.self) { open.insert(fingerprint) }
        picks = Array(picks.filter { !open.contains($0.2) }.prefix(reports))

        let token = try await TokenStore(database: db, logger: logger).create(unit: .country, name: "dx bench \(Int(Date().timeIntervalSince1970))").secret
        let wanted = Set(picks.map(\.2))
        let reader = try AlertReader(topic: topics.alerts, brokers: brokers, wanted: wanted, logger: logger)
        defer { reader.stop() }
        print("latency: \(picks.count) reports through \(ingestURL), \(rate)/s, each one new below-target alert")
        let run = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
        var accepted: [String: Date] = [:]
        let interval = Duration.milliseconds(1000 / max(1, rate))
        for (index, pick) in picks.enumerated() {
            let body: [String: Any] = [
                "reportId": "bench-\(run)-\(index)", "revision": 1, "unit": pick.0.rawValue, "period": pick.1.description,
                "observations": [["element": "households_with_fibre", "value": 30], ["element": "households_total", "value": 100]],
            ]
            var request = HTTPClientRequest(url: "\(ingestURL)/v1/reports")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            guard response.status.code / 100 == 2 else { throw CLIError("dx-ingest answered \(response.status.code): \(text)") }
            accepted[pick.2] = Date()
            try await Task.sleep(for: interval)
        }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while reader.received.count < wanted.count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let received = reader.received
        if received.count < wanted.count { printError("only \(received.count) of \(wanted.count) alerts arrived within \(timeout) s") }

        var committed: [String: Date] = [:]
        for try await (unit, period, updated) in try await db.query("""
            SELECT unit_code, period, updated_at FROM reporting.indicator_values
            WHERE indicator_code = \(indicator) AND unit_code = ANY(\(picks.map(\.0.rawValue))) AND period = ANY(\(Array(Set(picks.map(\.1.description)))))
            """).decode((String, String, Date).self) {
            guard let period = Period(period) else { continue }
            committed[AlertFingerprint.make(rule: "below_target", unit: UnitCode(unit), indicator: indicator, period: period)] = updated
        }
        var fromCommit: [Double] = []
        var fromAccepted: [Double] = []
        for (fingerprint, at) in received {
            if let commit = committed[fingerprint] { fromCommit.append(at.timeIntervalSince(commit) * 1000) }
            if let accepted = accepted[fingerprint] { fromAccepted.append(at.timeIntervalSince(accepted) * 1000) }
        }
        func describe(_ values: [Double]) -> String {
            let delays = Delays(values)
            guard let max = delays.sorted.last else { return "no samples" }
            return String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d alerts)", delays.percentile(0.5), delays.percentile(0.99), max, values.count)
        }
        print("  indicator value committed → alert on \(topics.alerts): \(describe(fromCommit))")
        print("  dx-ingest's 2xx → alert on \(topics.alerts):             \(describe(fromAccepted))")
    }

    private func scalar(_ db: Database, _ query: PostgresQuery) async throws -> Int64 {
        var result: Int64 = 0
        for try await value in try await db.query(query).decode(Int64?.self) { result = value ?? 0 }
        return result
    }
}

/// Reads dx.alerts.v1 from the beginning with a group of its own and notes, for the wanted
/// fingerprints, when their first transition was written (the message's timestamp).
private final class AlertReader: Sendable {
    private final class Seen: Sendable {
        let times = Mutex<[String: Date]>([:])
    }

    private let consumer: KafkaConsumer
    private let seen = Seen()

    init(topic: String, brokers: String, wanted: Set<String>, logger: Logger) throws {
        var configuration = KafkaConsumerConfiguration(client: .init(bootstrapServers: brokers, clientID: "dx-bench-reader"),
                                                       groupID: "dx-bench-\(UInt32.random(in: 0..<UInt32.max))", topics: [topic])
        configuration.startFromBeginning = true
        consumer = try KafkaConsumer(configuration: configuration, rebalanceHandler: StartFromReset(), logger: logger)
        let consumer = self.consumer
        let seen = self.seen
        Task {
            for await batch in consumer.batches {
                let now = Date()
                for message in batch {
                    guard let envelope = try? MessageCoding.decode(Envelope<AlertTransition>.self, from: message.value),
                          // An alert's first transition: firing, or silenced when a silence covers it.
                          [.firing, .silenced].contains(envelope.data.status), wanted.contains(envelope.data.fingerprint) else { continue }
                    let at = message.timestampMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? now
                    seen.times.withLock { if $0[envelope.data.fingerprint] == nil { $0[envelope.data.fingerprint] = at } }
                }
            }
        }
    }

    var received: [String: Date] { seen.times.withLock { $0 } }

    func stop() {
        consumer.stop()
    }
}

private struct StartFromReset: KafkaRebalanceHandler {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] { [:] }
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
}
