import DXKafka
import DXModel
import DXStore
import Foundation
import Indicators
import Logging
import Synchronization

/// The three real services against a database and topics of their own, for one test.
final class Pipeline: @unchecked Sendable {
    let database: TestDatabase
    let topics: TopicNames
    let brokers: String
    private(set) var services: [String: ServiceProcess] = [:]

    static let ingest = "dx-ingest"
    static let indicators = "dx-indicators"
    static let alerts = "dx-alerts"

    /// `brokers`: a broker of the test's own (see `TansuProcess`); the shared one otherwise.
    init(label: String, brokers: String? = nil) async throws {
        database = try await TestDatabase.create(label)
        topics = TopicNames(prefix: "\(database.name).")
        self.brokers = try brokers ?? TestEnvironment.kafkaBrokers
    }

    var roles: [String: String] {
        [Self.ingest: "dx_ingest", Self.indicators: "dx_indicators", Self.alerts: "dx_alerts"]
    }

    /// Starts (or restarts) services and waits until they are ready.
    /// `ports` fixes a service's HTTP port (a free one otherwise); `wait: false` returns without
    /// waiting for readiness.
    func start(_ names: [String] = [ingest, indicators, alerts], extraEnvironment: [String: String] = [:],
               ports: [String: Int] = [:], wait: Bool = true) async throws {
        for name in names {
            let process = ServiceProcess(name, environment: environment(for: name, extra: extraEnvironment), port: ports[name])
            try process.start()
            services[name] = process
        }
        guard wait else { return }
        for name in names { try await services[name]!.waitUntilReady() }
    }

    /// Starts one more replica of service `name` (same consumer group, same database), known as
    /// `key` to `service(_:)`, and waits until it is ready.
    func startReplica(of name: String, as key: String) async throws {
        let process = ServiceProcess(name, environment: environment(for: name, extra: [:]))
        try process.start()
        services[key] = process
        try await process.waitUntilReady()
    }

    private func environment(for name: String, extra: [String: String]) -> [String: String] {
        var environment = [
            "DX_POSTGRES_URL": database.url(role: roles[name]!),
            "DX_KAFKA_BROKERS": brokers,
            "DX_TOPIC_PREFIX": topics.prefix,
            "DX_TOPIC_PARTITIONS": "3",
        ]
        for (key, value) in extra { environment[key] = value }
        return environment
    }

    func service(_ name: String) -> ServiceProcess { services[name]! }

    var ingestURL: String { services[Self.ingest]!.baseURL }

    /// A token for `unit`, made the way `dx token create` makes one.
    func token(unit: String) async throws -> String {
        let adminURL = database.adminURL
        return try await withDatabase(try DatabaseConfiguration(url: adminURL), logger: TestEnvironment.logger("token")) { database in
            try await TokenStoreAccess.create(database: database, unit: unit)
        }
    }

    /// Waits until dx-ingest says every given report is applied by dx-indicators.
    func waitUntilApplied(_ reportIDs: [String], token: String, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        var pending = Set(reportIDs)
        while !pending.isEmpty {
            for id in pending.sorted() {
                let response = try await HTTP.get("\(ingestURL)/v1/reports/\(id)", token: token)
                if response.status == 200, (try response.json()["status"] as? String) == "applied" { pending.remove(id) }
            }
            if pending.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("reports not applied within \(timeout): \(pending.sorted().prefix(5))\n--- dx-indicators log:\n\(services[Self.indicators]?.log() ?? "")")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
    }

    /// Waits until dx-indicators has applied as many messages as dx-ingest's outbox holds;
    /// returns that number.
    @discardableResult
    func waitUntilEveryMessageApplied(timeout: Duration, poll: Duration = .milliseconds(200)) async throws -> Int {
        let outbox = try await count(self, "SELECT count(*) FROM ingest.outbox")
        let deadline = ContinuousClock.now + timeout
        while try await count(self, "SELECT count(*) FROM engine.processed_messages") < outbox {
            guard ContinuousClock.now < deadline else { throw TestFailure("not every one of \(outbox) outbox messages applied within \(timeout)") }
            try await Task.sleep(for: poll)
        }
        return outbox
    }

    /// The engine's cells and indicator values against a from-scratch recomputation over what
    /// dx-ingest accepted: the differences, and how many cells and values the recomputation has.
    func auditEngine(catalog: Catalog) async throws -> (mismatches: [EngineAudit.Mismatch], cells: Int, indicators: Int) {
        try await withAdmin { db in
            let audit = EngineAudit(catalog: catalog, database: db, logger: TestEnvironment.logger("audit"))
            let expected = audit.recompute(try await audit.acceptedInputs())
            let actual = try await audit.engineState()
            return (EngineAudit.compare(expected: expected, actual: actual), expected.cellCount, expected.indicators.count)
        }
    }

    /// Waits until dx-ingest's relay has published every outbox message.
    func waitUntilOutboxPublished(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await count(self, "SELECT count(*)::int FROM ingest.outbox WHERE published_at IS NULL") > 0 {
            guard ContinuousClock.now < deadline else { throw TestFailure("the outbox was not published within \(timeout)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Runs `body` with the admin pool of this pipeline's database.
    func withAdmin<T: Sendable>(_ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
        try await database.withAdmin(body)
    }

    func stop() {
        for service in services.values { service.terminate() }
    }

    /// The services' logs, for failure messages.
    func logs() -> String {
        services.map { "--- \($0.key):\n\($0.value.log())" }.joined(separator: "\n")
    }
}

/// Reads a topic from the beginning with a group of its own, as an external subscriber would.
final class TopicReader: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private final class Received: Sendable {
        let messages = Mutex<[KafkaMessage]>([])
    }

    private let received = Received()
    private var task: Task<Void, Never>?

    init(topic: String, brokers: String) throws {
        consumer = try KafkaConsumer(
            configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-reader"), groupID: TestEnvironment.uniqueName("reader"), topics: [topic]),
            rebalanceHandler: NoStoredOffsets(),
            logger: TestEnvironment.logger("reader")
        )
        let consumer = self.consumer
        let received = self.received
        task = Task {
            for await batch in consumer.batches {
                received.messages.withLock { $0 += batch }
            }
        }
    }

    var messages: [KafkaMessage] { received.messages.withLock { $0 } }

    /// Waits until `condition` holds for what was read so far.
    @discardableResult
    func wait(timeout: Duration = .seconds(90), for description: String, until condition: ([KafkaMessage]) -> Bool) async throws -> [KafkaMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let messages = self.messages
            if condition(messages) { return messages }
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(description); read \(messages.count) message(s)") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    func close() async {
        consumer.stop()
        await task?.value
        await consumer.close()
    }

    func decoded<T: Codable & Sendable>(_ type: T.Type) throws -> [Envelope<T>] {
        try messages.map { try MessageCoding.decode(Envelope<T>.self, from: $0.value) }
    }
}
