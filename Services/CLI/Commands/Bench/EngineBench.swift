import ArgumentParser
import DXKafka
import DXModel
import DXStore
import Foundation
import Indicators
import Logging
import PostgresNIO

/// `dx bench engine`: the national load through a running dx-indicators, next to the physical
/// limits measured in the same run (raw produce to the same broker, COPY of the same rows into
/// the same PostgreSQL). Expects a fresh database with the bench catalog loaded (deploy/local/bench.sh
/// prepares it) and dx-indicators running against it.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Benchmark dx-indicators at national scale (see deploy/local/bench.sh)."
    )

    @Option(help: "Superuser URL of the bench database.") var adminURL: String
    @Option(help: "Kafka brokers.") var brokers: String
    @Option(help: "Topic prefix the services use.") var topicPrefix = ""
    @Option(help: "dx-indicators' process id, for its peak memory.") var indicatorsPid: Int32?
    @Option(help: "Communes in the load (default: all).") var communes: Int?
    @Option(help: "Months of 2025 in the load.") var months = 12
    @Option(help: "Share of the cells revised afterwards.") var revisionShare = 0.1
    @Option(help: "Observations per message.") var perMessage = 40
    @Option(help: "Messages dx-indicators applies per transaction (its DX_CONSUMER_BATCH_SIZE): the batch the materialized view is refreshed after.") var batchMessages = IndicatorsService.defaultBatchSize

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let files = BenchCatalog.extend(try CatalogCommand.DirectoryOption.parse([]).read())
        let catalog = files.catalog
        var units = BenchCatalog.communes(catalog)
        if let communes { units = Array(units.prefix(communes)) }
        let topics = TopicNames(prefix: topicPrefix)
        var rng = SystemRandomNumberGenerator()

        // The load: one message per commune and month (a monthly report), 40 values each.
        var sequence: Int64 = 0
        var messages: [KafkaOutgoingMessage] = []
        var rows: [[String?]] = []
        var firstRevision: [(UnitCode, Int, [Observation])] = []
        for month in 1...months {
            for unit in units {
                sequence += 1
                var observations: [Observation] = []
                for pair in 1...(BenchCatalog.elementCount / 2) {
                    let denominator = Int.random(in: 1000...5000, using: &rng)
                    let numerator = Int.random(in: 0...denominator, using: &rng)
                    observations.append(Observation(unit: unit, period: .month(2025, month), element: BenchCatalog.elementCode(2 * pair - 1), value: Quantity(numerator)))
                    observations.append(Observation(unit: unit, period: .month(2025, month), element: BenchCatalog.elementCode(2 * pair), value: Quantity(denominator)))
                }
                firstRevision.append((unit, month, observations))
                let province = catalog.units.province(of: unit)!
                let batch = ObservationBatch(province: province, origin: .report, reportID: "bench-\(unit)-\(month)", revision: 1, sequence: sequence, observations: observations)
                messages.append(KafkaOutgoingMessage(topic: topics.observations, key: province.rawValue,
                                                     value: try MessageCoding.encode(Envelope(schema: ObservationBatch.schema, source: "bench", data: batch))))
                for o in observations {
                    rows.append([unit.rawValue, o.period.description, o.element, "bench-\(unit)-\(month)", "1", String(sequence), o.value!.description, province.rawValue])
                }
            }
        }
        let observationCount = rows.count
        printError("load: \(units.count) communes × \(BenchCatalog.elementCount) elements × \(months) months = \(observationCount) observations in \(messages.count) messages")

        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "bench")), logger: logger)
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers, clientID: "bench-admin"), logger: logger)

        // Physical limit 1: raw librdkafka produce of the same messages to the same broker.
        let rawTopic = "\(topicPrefix)bench.raw-produce"
        try await admin.ensureTopics([.init(name: rawTopic, partitions: 6)])
        let rawMessages = messages.map { KafkaOutgoingMessage(topic: rawTopic, key: $0.key, value: $0.value) }
        let produceStart = ContinuousClock.now
        let rawReports = await producer.send(rawMessages)
        let produceSeconds = (ContinuousClock.now - produceStart).seconds
        guard rawReports.allSatisfy({ $0.error == nil }) else { throw CLIError("raw produce failed: \(rawReports.compactMap(\.error).first!)") }

        // Revisions of a share of the cells: revision 2 of some monthly reports.
        var revisionMessages: [KafkaOutgoingMessage] = []
        var revised = 0
        let reportCount = Int(Double(firstRevision.count) * revisionShare)
        var generator = SystemRandomNumberGenerator()
        for (unit, month, observations) in firstRevision.shuffled(using: &generator).prefix(reportCount) {
            sequence += 1
            let changed = observations.map { o -> Observation in
                var o = o
                // Change every numerator a little.
                if Int(o.element.suffix(2))! % 2 == 1 { o.value = max(0, o.value! - 1) }
                return o
            }
            revised += changed.count
            let province = catalog.units.province(of: unit)!
            let batch = ObservationBatch(province: province, origin: .report, reportID: "bench-\(unit)-\(month)", revision: 2, sequence: sequence, observations: changed)
            revisionMessages.append(KafkaOutgoingMessage(topic: topics.observations, key: province.rawValue,
                                         value: try MessageCoding.encode(Envelope(schema: ObservationBatch.schema, source: "bench", data: batch))))
        }
        let load = messages
        let revisions = revisionMessages
        let copyRows = rows
        let quietLogger = logger
        let revisedCount = revised
        let batchObservations = batchMessages * BenchCatalog.elementCount
        let result = try await withDatabase(url: adminURL, logger: logger) { db in
            // Physical limit 2: COPY of the same raw rows into the same PostgreSQL.
            // The fastest of three of each, as the ingestion bench takes its COPYs: a single keyed
            // COPY of these rows took from 5.6 to 9.9 s on one machine in one afternoon, and the
            // limit is what PostgreSQL can do, not what it did once.
            var copyPlainRuns: [Double] = [], copyKeyedRuns: [Double] = []
            for _ in 1...Self.copyRuns {
                copyPlainRuns.append(try await Self.copy(copyRows, into: "bench_copy_plain", primaryKey: false, db: db, logger: quietLogger))
                copyKeyedRuns.append(try await Self.copy(copyRows, into: "bench_copy_keyed", primaryKey: true, db: db, logger: quietLogger))
            }
            let copyPlain = copyPlainRuns.min()!
            let copyKeyed = copyKeyedRuns.min()!

            // The pipeline: the same messages through dx-indicators.
            let before = try await Self.applied(db)
            let start = ContinuousClock.now
            let reports = await producer.send(load)
            guard reports.allSatisfy({ $0.error == nil }) else { throw CLIError("produce failed: \(reports.compactMap(\.error).first!)") }
            try await Self.waitApplied(db, count: before + load.count)
            let loadSeconds = (ContinuousClock.now - start).seconds

            let revisionStart = ContinuousClock.now
            _ = await producer.send(revisions)
            try await Self.waitApplied(db, count: before + load.count + revisions.count)
            let revisionSeconds = (ContinuousClock.now - revisionStart).seconds

            // Exactness at national scale: incremental state against a full recomputation.
            let audit = EngineAudit(catalog: catalog, database: db, logger: quietLogger)
            let auditStart = ContinuousClock.now
            let expected = audit.recompute(try await audit.engineInputs())
            let actual = try await audit.engineState()
            let mismatches = EngineAudit.compare(expected: expected, actual: actual)
            let auditSeconds = (ContinuousClock.now - auditStart).seconds

            // The "just PostgreSQL" baseline over the same rows.
            let baseline = try await MaterializedViewBaseline(db: db, logger: quietLogger).measure(rows: copyRows, batchRows: batchObservations)
            return (copyPlain, copyKeyed, loadSeconds, revisedCount, revisionSeconds, mismatches.count, expected.cellCount, expected.indicators.count, auditSeconds, baseline)
        }
        await producer.shutdown()

        let (copyPlain, copyKeyed, loadSeconds, revisedObservations, revisionSeconds, mismatches, cells, indicators, auditSeconds, baseline) = result
        let rate = Double(observationCount) / loadSeconds
        func line(_ label: String, _ value: String, _ note: String = "") { print(label.padding(toLength: 58, withPad: " ", startingAt: 0) + value.leftPadded(16) + "  " + note) }
        print("\nDX Pulse engine bench — \(observationCount) observations (\(units.count) communes × \(BenchCatalog.elementCount) elements × \(months) months)")
        line("raw librdkafka produce, same messages, same broker", "\(Int(Double(observationCount) / produceSeconds)) obs/s", String(format: "%.1f s", produceSeconds))
        line("COPY same rows into PostgreSQL (heap, no index)", "\(Int(Double(observationCount) / copyPlain)) obs/s", String(format: "%.1f s, fastest of %d", copyPlain, Self.copyRuns))
        line("COPY same rows into PostgreSQL (with primary key)", "\(Int(Double(observationCount) / copyKeyed)) obs/s", String(format: "%.1f s, fastest of %d", copyKeyed, Self.copyRuns))
        line("dx-indicators: observations applied", "\(Int(rate)) obs/s", String(format: "%.1f s; %.2f× COPY heap, %.2f× COPY keyed", loadSeconds, rate / (Double(observationCount) / copyPlain), rate / (Double(observationCount) / copyKeyed)))
        line("dx-indicators: revisions applied (\(revisedObservations) obs)", "\(Int(Double(revisedObservations) / revisionSeconds)) obs/s", String(format: "%.1f s", revisionSeconds))
        line("incremental vs full recomputation", mismatches == 0 ? "identical" : "\(mismatches) differ", "\(cells) cells, \(indicators) indicator values (\(String(format: "%.0f", auditSeconds)) s)")
        line("just PostgreSQL: REFRESH MATERIALIZED VIEW, whole load", String(format: "%.2f s", baseline.refreshSeconds), "\(baseline.indicatorRows) indicator values")
        line("just PostgreSQL: batch of \(baseline.batchRows) obs → fresh results", String(format: "%.2f s", baseline.batchToFreshSeconds),
             String(format: "= %.0f obs/s if refreshed after each batch; dx-indicators %.2f× that rate (its delay: the latency bench)", baseline.observationsPerSecond, rate / baseline.observationsPerSecond))
        if let pid = indicatorsPid, let memory = ProcessMemory(pid: pid) {
            line("dx-indicators peak memory (VmHWM)", "\(memory.peak / 1_048_576) MiB")
        }
        if mismatches > 0 { throw ExitCode(1) }
    }

    /// COPYs of each kind, the fastest taken.
    static let copyRuns = 3

    static func applied(_ db: Database) async throws -> Int {
        var count = 0
        for try await value in try await db.query("SELECT count(*)::int FROM engine.processed_messages").decode(Int.self) { count = value }
        return count
    }

    static func waitApplied(_ db: Database, count: Int) async throws {
        var last = -1
        var lastChange = ContinuousClock.now
        while true {
            let applied = try await applied(db)
            if applied >= count { return }
            if applied != last { last = applied; lastChange = ContinuousClock.now }
            if ContinuousClock.now - lastChange > .seconds(120) { throw CLIError("dx-indicators stopped progressing at \(applied) of \(count) messages") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func copy(_ rows: [[String?]], into table: String, primaryKey: Bool, db: Database, logger: Logger) async throws -> Double {
        try await timedScratchCopy(table: table, definition: """
            unit text, period text, element text, report_id text, revision int, sequence bigint, value numeric, province text
            \(primaryKey ? ", PRIMARY KEY (unit, period, element, report_id)" : "")
            """, db: db) { connection in
            try await connection.copy(rows, into: table, columns: ["unit", "period", "element", "report_id", "revision", "sequence", "value", "province"], logger: logger)
        }
    }
}

/// `dx bench catalog --out DIR`: the catalog with the bench elements, for `dx catalog load --dir DIR`.
struct BenchCatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "catalog", abstract: "Write the bench catalog (real units, synthetic elements).")

    @Option(help: "Output directory.") var out: String
    @OptionGroup var directory: CatalogCommand.DirectoryOption

    func run() async throws {
        let files = BenchCatalog.extend(try directory.read())
        let source = URL(fileURLWithPath: directory.path)
        let target = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: target.appendingPathComponent("units"), withIntermediateDirectories: true)
        // The units as they are, and the alert rules so dx-alerts judges the bench's indicators too.
        for name in [CatalogFiles.currentUnits, CatalogFiles.pre2025Units, CatalogFiles.successions, CatalogFiles.alertRules]
        where FileManager.default.fileExists(atPath: source.appendingPathComponent(name).path) {
            let destination = target.appendingPathComponent(name)
            try? FileManager.default.removeItem(at: destination)
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: destination)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(files.elements).write(to: target.appendingPathComponent(CatalogFiles.elements))
        try encoder.encode(files.indicators).write(to: target.appendingPathComponent(CatalogFiles.indicators))
        try encoder.encode(files.targets).write(to: target.appendingPathComponent(CatalogFiles.targets))
        print("bench catalog written to \(out)")
    }
}
