import ArgumentParser
import AsyncHTTPClient
import DXModel
import DXStore
import Foundation
import Ingestion
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Observations and events per second through dx-ingest until Kafka has them, next to COPY of
/// the same rows into the same PostgreSQL, and dx-ingest's peak memory, in one run.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Observations and events per second through dx-ingest into Kafka, next to COPY into PostgreSQL.",
        discussion: """
            Against a running dx-ingest (start it with DX_RATE_LIMIT_PER_MINUTE=0, or the rate limit is
            what you measure) and its database. Reports of --observations observations each are sent by
            --clients concurrent clients; the time runs from the first request to the moment the last
            outbox row was acknowledged by Kafka (ingest.outbox.published_at). That is done --runs times,
            each run with rows of its own, the fastest counting (every run's rate is printed). The
            same rows are COPYed into a scratch table LIKE ingest.report_values INCLUDING ALL in the same
            database three times, the fastest counting, taking turns with the runs (run, COPY, run,
            COPY, ...; the side with more goes on alone), so a slow spell of the machine falls on both
            sides. The same for dossier events (a scratch table LIKE ingest.events INCLUDING ALL: its
            key, collation and defaults). With --ingest-pid, the peak resident memory of dx-ingest
            (VmHWM) is read from /proc.
            """
    )

    @Option(help: "dx-ingest's base URL (default: $DX_INGEST_URL or http://127.0.0.1:8080).")
    var url: String?
    @Option(help: "A token for unit VN (default: $DX_TOKEN; without one, the bench creates one with the admin URL).")
    var token: String?
    @Option(name: .customLong("database-url"), help: "Superuser URL of dx-ingest's database (default: $DX_POSTGRES_ADMIN_URL).")
    var databaseURL: String?
    @Option(help: "dx-ingest's process id, to read its peak memory from /proc/<pid>/status.")
    var ingestPid: Int32?
    @Option(help: "Reports to send.")
    var reports = 500
    @Option(help: "Observations per report.")
    var observations = 1000
    @Option(help: "Events to send.")
    var events = 200_000
    @Option(help: "Events per request.")
    var eventsPerRequest = 1000
    @Option(help: "Concurrent clients.")
    var clients = 4
    @Option(help: "Runs of each phase through dx-ingest, each with rows of its own; the fastest counts, as the fastest of three COPYs does.")
    var runs = 3
    @Flag(help: "Print the results as JSON as well.")
    var json = false

    struct Phase: Codable {
        var rows: Int
        var requests: Int
        var httpSeconds: Double
        var kafkaSeconds: Double
        var copySeconds: Double
        /// Every run through dx-ingest until Kafka, in order; `kafkaSeconds` is the fastest.
        var runKafkaSeconds: [Double]
        var throughKafkaPerSecond: Double { Double(rows) / kafkaSeconds }
        var copyPerSecond: Double { Double(rows) / copySeconds }
        var ratio: Double { throughKafkaPerSecond / copyPerSecond }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let base = (url ?? environment["DX_INGEST_URL"] ?? "http://127.0.0.1:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let adminURL = databaseURL ?? environment["DX_POSTGRES_ADMIN_URL"], !adminURL.isEmpty else {
            throw ValidationError("no database: pass --database-url or set DX_POSTGRES_ADMIN_URL (the bench reads ingest.outbox and COPYs into the same PostgreSQL)")
        }
        guard reports > 0, observations > 0, events >= 0, eventsPerRequest > 0, clients > 0, runs > 0 else {
            throw ValidationError("--reports, --observations, --events-per-request, --clients and --runs must be positive")
        }
        let logger = {
            var logger = Logger(label: "dx-bench")
            logger.logLevel = .warning
            return logger
        }()
        let givenToken = token ?? environment["DX_TOKEN"]
        let (reportCount, perReport, eventCount, perRequest, clientCount, json, pid, runCount) = (reports, observations, events, eventsPerRequest, clients, self.json, ingestPid, runs)

        try await withDatabase(url: adminURL, logger: logger) { db in
            let catalog = try await CatalogRepository(database: db, logger: logger).read()
            let token: String
            if let givenToken, !givenToken.isEmpty {
                token = givenToken
            } else {
                token = try await TokenStore(database: db, logger: logger).create(unit: "VN", name: "dx bench \(Int(Date().timeIntervalSince1970))").secret
            }
            let run = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            let workload = BenchWorkload(catalog: catalog, run: run)
            printError("dx bench ingest: \(reportCount) reports × \(perReport) observations and \(eventCount) events (\(perRequest) per request), \(clientCount) clients, against \(base)")

            /// `runCount` runs of a phase, each with a workload (and so ids) of its own, so every run is
            /// accepted anew, in turn with the COPYs of `copy`: the fastest run and the fastest COPY.
            func measureRuns(_ label: String, bodies: (BenchWorkload) throws -> [(body: [UInt8], path: String, contentType: String, rows: Int)],
                             copy: ScratchCopy) async throws -> (runs: [(http: Double, kafka: Double)], copySeconds: Double) {
                var runs: [(http: Double, kafka: Double)] = []
                var copySeconds = Double.infinity
                for index in 0..<max(runCount, Self.copyRuns) {
                    if index < runCount {
                        let runBodies = try bodies(BenchWorkload(catalog: catalog, run: "\(run)\(label.prefix(1))\(index)"))
                        runs.append(try await Self.measure(label: "\(label), run \(index + 1) of \(runCount)", bodies: runBodies, base: base, token: token,
                                                           clients: clientCount, db: db, logger: logger))
                    }
                    if index < Self.copyRuns {
                        copySeconds = min(copySeconds, try await copy.timeOnce(db: db, logger: logger))
                    }
                }
                return (runs, copySeconds)
            }

            // Reports.
            let reportRowsCopy = ScratchCopy(table: "bench_copy_report_values_\(run)", definition: "LIKE ingest.report_values INCLUDING ALL",
                                             columns: ["report_id", "unit", "period", "element", "value"]) { emit in
                for r in 0..<reportCount {
                    for row in workload.reportRows(r, observations: perReport) {
                        emit("bench-\(run)-\(r)\t\(row.unit)\t2025\t\(row.element)\t\(row.value)\n")
                    }
                }
            }
            let (reportRuns, reportCopy) = try await measureRuns("reports", bodies: { runWorkload in
                try (0..<reportCount).map { (try runWorkload.reportBody($0, observations: perReport), "/v1/reports", "application/json", perReport) }
            }, copy: reportRowsCopy)
            let reportPhase = reportRuns.min { $0.kafka < $1.kafka }!
            var results = ["observations": Phase(rows: reportCount * perReport, requests: reportCount, httpSeconds: reportPhase.http,
                                                 kafkaSeconds: reportPhase.kafka, copySeconds: reportCopy, runKafkaSeconds: reportRuns.map(\.kafka))]

            // Events.
            if eventCount > 0 {
                let requests = stride(from: 0, to: eventCount, by: perRequest).map { $0..<min(eventCount, $0 + perRequest) }
                let eventRowsCopy = ScratchCopy(table: "bench_copy_events_\(run)", definition: "LIKE ingest.events INCLUDING ALL",
                                                columns: ["event_id", "kind", "unit", "occurred_at", "period", "elements", "sequence", "message_id"]) { emit in
                    let message = UUID().uuidString
                    for i in 0..<eventCount {
                        let event = workload.event(i)
                        emit("\(event.id)\tdossier_received\t\(event.unit)\t\(event.occurredAt)\t\(event.period)\t{\(event.elements.joined(separator: ","))}\t1\t\(message)\n")
                    }
                }
                let (eventRuns, eventCopy) = try await measureRuns("events", bodies: { runWorkload in
                    requests.map { (runWorkload.eventBody($0), "/v1/events", "application/x-ndjson", $0.count) }
                }, copy: eventRowsCopy)
                let eventPhase = eventRuns.min { $0.kafka < $1.kafka }!
                results["events"] = Phase(rows: eventCount, requests: requests.count, httpSeconds: eventPhase.http, kafkaSeconds: eventPhase.kafka,
                                          copySeconds: eventCopy, runKafkaSeconds: eventRuns.map(\.kafka))
            }

            let memory = pid.flatMap(ProcessMemory.init(pid:))
            print(Self.render(results, memory: memory, pid: pid, clients: clientCount, perReport: perReport, perRequest: perRequest))
            if json {
                var object: [String: Any] = ["clients": clientCount]
                for (name, phase) in results {
                    object[name] = ["rows": phase.rows, "requests": phase.requests, "httpSeconds": phase.httpSeconds, "kafkaSeconds": phase.kafkaSeconds,
                                    "runKafkaSeconds": phase.runKafkaSeconds,
                                    "copySeconds": phase.copySeconds, "throughKafkaPerSecond": phase.throughKafkaPerSecond,
                                    "copyPerSecond": phase.copyPerSecond, "ratio": phase.ratio]
                }
                if let memory { object["ingestPeakMemoryBytes"] = memory.peak; object["ingestResidentBytes"] = memory.resident }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            }
        }
    }

    /// Sends every body with `clients` concurrent clients; returns the seconds until the last
    /// 2xx, and until the last outbox row written meanwhile was acknowledged by Kafka.
    static func measure(label: String, bodies: [(body: [UInt8], path: String, contentType: String, rows: Int)], base: String, token: String,
                        clients: Int, db: Database, logger: Logger) async throws -> (http: Double, kafka: Double) {
        // Each run starts where the COPYs start: nothing left for autovacuum, a checkpoint done.
        try await settle(db)
        var baseline: Int64 = 0
        for try await value in try await db.query("SELECT coalesce(max(id), 0)::bigint FROM ingest.outbox").decode(Int64.self) { baseline = value }
        let next = TicketCounter()
        let started = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    while true {
                        let index = next.take()
                        guard index < bodies.count else { return }
                        try await send(bodies[index], base: base, token: token)
                    }
                }
            }
            try await group.waitForAll()
        }
        let answered = Date().timeIntervalSince(started)
        // Until every outbox row written since the start is published.
        let deadline = Date().addingTimeInterval(600)
        var lastPublished: Date?
        while true {
            var pending = 0
            for try await (count, last) in try await db.query("""
                SELECT count(*) FILTER (WHERE published_at IS NULL)::int, max(published_at) FROM ingest.outbox WHERE id > \(baseline)
                """).decode((Int, Date?).self) {
                pending = count
                lastPublished = last
            }
            if pending == 0 { break }
            guard Date() < deadline else { throw CLIError("\(label): \(pending) outbox row(s) still unpublished after 10 minutes; is Kafka up?") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let kafka = max(answered, (lastPublished ?? Date()).timeIntervalSince(started))
        printError("  \(label): \(bodies.count) requests answered in \(format(answered)) s, all in Kafka after \(format(kafka)) s")
        return (answered, kafka)
    }

    static func send(_ item: (body: [UInt8], path: String, contentType: String, rows: Int), base: String, token: String) async throws {
        for attempt in 1...20 {
            var request = HTTPClientRequest(url: base + item.path)
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: item.contentType)
            request.body = .bytes(ByteBuffer(bytes: item.body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
            let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
            switch response.status.code {
            case 200..<300: return
            case 429, 500...:
                // Counted in the time: a limit or an overload is part of what is measured.
                let wait = Int(response.headers.first(name: "Retry-After") ?? "") ?? attempt
                try await Task.sleep(for: .milliseconds(100 * min(wait * 10, 100)))
            default:
                throw CLIError("\(item.path) answered \(response.status.code): \(String(buffer: body).prefix(500))")
            }
        }
        throw CLIError("\(item.path): no 2xx after 20 attempts")
    }

    /// COPYs of each phase's rows, the fastest counting.
    static let copyRuns = 3

    /// COPY of the same rows into a scratch table shaped like the one dx-ingest writes (with the
    /// same primary key). The rows are rendered once, before any clock starts, so only COPY is timed.
    struct ScratchCopy: Sendable {
        let table: String
        let definition: String
        let columns: [String]
        let chunks: [ByteBuffer]

        init(table: String, definition: String, columns: [String], rows: (_ emit: (String) -> Void) -> Void) {
            var chunks: [ByteBuffer] = []
            var buffer = ByteBuffer()
            rows { line in
                buffer.writeString(line)
                if buffer.readableBytes >= 256 * 1024 {
                    chunks.append(buffer)
                    buffer = ByteBuffer()
                }
            }
            if buffer.readableBytes > 0 { chunks.append(buffer) }
            (self.table, self.definition, self.columns, self.chunks) = (table, definition, columns, chunks)
        }

        /// One COPY into a fresh scratch table, from a settled database; its seconds.
        func timeOnce(db: Database, logger: Logger) async throws -> Double {
            try await timedScratchCopy(table: table, definition: definition, db: db) { connection in
                try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
                    for chunk in chunks { try await writer.write(chunk) }
                }
            }
        }
    }

    static func format(_ value: Double, digits: Int = 2) -> String {
        String(format: "%.\(digits)f", value)
    }

    static func grouped(_ value: Double) -> String {
        let whole = Int(value.rounded())
        let digits = String(whole)
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// The fastest run through dx-ingest, and every run's rate, so a reader sees the spread too.
    static func runsText(_ phase: Phase) -> String {
        let rates = phase.runKafkaSeconds.map { grouped(Double(phase.rows) / $0) + "/s" }.joined(separator: ", ")
        return "fastest of \(phase.runKafkaSeconds.count) runs answered 2xx in \(format(phase.httpSeconds)) s, all in Kafka after \(format(phase.kafkaSeconds)) s (runs: \(rates))"
    }

    static func render(_ results: [String: Phase], memory: ProcessMemory?, pid: Int32?, clients: Int, perReport: Int, perRequest: Int) -> String {
        var lines = [
            "",
            "                         through dx-ingest into Kafka    COPY into PostgreSQL    ratio",
        ]
        for (name, label) in [("observations", "observations / s"), ("events", "events / s")] {
            guard let phase = results[name] else { continue }
            lines.append(label.padding(toLength: 25, withPad: " ", startingAt: 0)
                + grouped(phase.throughKafkaPerSecond).padding(toLength: 32, withPad: " ", startingAt: 0)
                + grouped(phase.copyPerSecond).padding(toLength: 24, withPad: " ", startingAt: 0)
                + format(phase.ratio))
        }
        lines.append("")
        if let phase = results["observations"] {
            lines.append("reports: \(phase.requests) × \(perReport) observations, \(clients) clients; \(runsText(phase)); fastest of \(copyRuns) COPYs of the same \(phase.rows) rows, taken in turn with the runs, \(format(phase.copySeconds)) s")
        }
        if let phase = results["events"] {
            lines.append("events:  \(phase.requests) requests of ≤ \(perRequest) events; \(runsText(phase)); fastest of \(copyRuns) COPYs of the same \(phase.rows) rows, taken in turn with the runs, \(format(phase.copySeconds)) s")
        }
        if let memory {
            lines.append("dx-ingest peak memory (VmHWM, pid \(pid ?? 0)): \(format(Double(memory.peak) / 1_048_576, digits: 1)) MiB; resident now \(format(Double(memory.resident) / 1_048_576, digits: 1)) MiB")
        } else {
            lines.append("dx-ingest peak memory: not measured (pass --ingest-pid)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Hands out request numbers to concurrent clients.
final class TicketCounter: Sendable {
    private let next = Mutex(0)

    func take() -> Int {
        next.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}

/// What the bench sends: valid rows for the current tree's communes, so every request is
/// accepted and the time measured is the time of accepting.
struct BenchWorkload: Sendable {
    let communes: [UnitCode]
    let elements: [String]
    let values: [String: Int]
    let run: String

    init(catalog: Catalog, run: String) {
        self.run = run
        communes = catalog.units.units.values.filter { $0.tree == .current && $0.level == .commune }.map(\.code).sorted()
        elements = catalog.elements.values.filter { $0.periodType == .year && $0.valueType == .count }.map(\.code).sorted()
        // Denominators large, numerators small: no row breaks "numerator above denominator".
        let ratios = catalog.indicators.values.filter { $0.kind == .ratio }
        let denominators = Set(ratios.compactMap(\.denominator)), numerators = Set(ratios.compactMap(\.numerator))
        values = Dictionary(uniqueKeysWithValues: elements.map { ($0, denominators.contains($0) ? 1_000_000 : numerators.contains($0) ? 10 : 500) })
    }

    /// The rows of report `r`: distinct cells of year 2025.
    func reportRows(_ r: Int, observations: Int) -> [(unit: String, element: String, value: Int)] {
        (0..<observations).map { k in
            let cell = r * observations + k
            let element = elements[cell % elements.count]
            return (communes[(cell / elements.count) % communes.count].rawValue, element, values[element] ?? 1)
        }
    }

    func reportBody(_ r: Int, observations: Int) throws -> [UInt8] {
        let rows = reportRows(r, observations: observations).map { ["unit": $0.unit, "element": $0.element, "value": $0.value] as [String: Any] }
        return Array(try JSONSerialization.data(withJSONObject: ["reportId": "bench-\(run)-\(r)", "revision": 1, "period": "2025", "observations": rows] as [String: Any]))
    }

    func event(_ i: Int) -> (id: String, unit: String, occurredAt: String, period: String, elements: [String], line: String) {
        let unit = communes[i % communes.count].rawValue
        let month = 1 + (i / communes.count) % 10
        let day = 1 + i % 28
        let online = i % 2 == 0, fee = i % 3 == 0
        let occurredAt = String(format: "2026-%02d-%02dT%02d:%02d:00+07:00", month, day, 7 + i % 10, i % 60)
        let id = "bench-\(run)-e\(i)"
        let elements = ["dossiers_received_total"] + (online ? ["dossiers_received_online"] : []) + (fee ? ["dossiers_requiring_payment"] : [])
        let line = #"{"channel":"\#(online ? "online" : "offline")","eventId":"\#(id)","feeRequired":\#(fee),"kind":"dossier_received","occurredAt":"\#(occurredAt)","unit":"\#(unit)"}"#
        return (id, unit, occurredAt, String(format: "2026-%02d", month), elements, line)
    }

    func eventBody(_ range: Range<Int>) -> [UInt8] {
        Array(range.map { event($0).line }.joined(separator: "\n").utf8)
    }
}
