import DXKafka
import DXModel
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Publishes an outbox's rows to Kafka in the order they were written and marks them sent once
/// the broker acknowledged them. LISTEN/NOTIFY wakes it at commit; polling is the fallback. A row
/// is marked only after its delivery report, so a crash can publish a row twice (consumers apply
/// it once by its message id) but never lose one.
public final class OutboxRelay: Service, Sendable {
    public struct Configuration: Sendable {
        public var batchSize = 500
        public var pollInterval: Duration = .seconds(1)
        public var maximumBackoff: Duration = .seconds(5)

        public init() {}
    }

    private let outbox: Outbox
    private let database: Database
    private let producer: KafkaProducer
    private let configuration: Configuration
    private let logger: Logger
    private let wake = WakeSignal()
    private let published: Counter
    private let failures: Counter
    private let publishTimer: Metrics.Timer

    public init(outbox: Outbox, database: Database, producer: KafkaProducer, configuration: Configuration = .init(), logger: Logger) {
        self.outbox = outbox
        self.database = database
        self.producer = producer
        self.configuration = configuration
        self.logger = logger
        self.published = Counter(label: "dx_outbox_published_total", dimensions: [("outbox", outbox.schema)])
        self.failures = Counter(label: "dx_outbox_publish_failures_total", dimensions: [("outbox", outbox.schema)])
        self.publishTimer = Metrics.Timer(label: "dx_outbox_publish_seconds", dimensions: [("outbox", outbox.schema)])
    }

    public func run() async throws {
        let stopping = StopFlag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.database.wakeOnNotifications(on: self.outbox.channel, wake: self.wake, until: stopping, logger: self.logger) }
                await self.publishLoop(until: stopping)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.stop()
            self.wake.signal()
        }
    }

    /// Wakes the relay now, e.g. after a write this process made.
    public func poke() {
        wake.signal()
    }

    private func publishLoop(until stopping: StopFlag) async {
        var backoff: Duration = .milliseconds(100)
        while !stopping.isStopped {
            do {
                let result = try await publishBatch()
                backoff = .milliseconds(100)
                if result.failed > 0 {
                    await wake.wait(timeout: configuration.maximumBackoff)
                } else if result.attempted < configuration.batchSize {
                    await wake.wait(timeout: configuration.pollInterval)
                }
            } catch {
                logger.warning("outbox relay: \(error.postgresDescription); retrying", metadata: ["outbox": "\(outbox.schema)"])
                await wake.wait(timeout: backoff)
                backoff = min(backoff * 2, configuration.maximumBackoff)
            }
        }
    }

    /// One pass: publish up to a batch of pending rows. Public for tests and tools.
    @discardableResult
    public func publishBatch() async throws -> (attempted: Int, failed: Int) {
        let schema = outbox.schema
        let limit = configuration.batchSize
        let producer = self.producer
        let logger = self.logger
        let start = DispatchTime.now()
        let result = try await database.withTransaction { connection -> (Int, Int) in
            // One relay per outbox publishes at a time, so rows go out in order.
            let lock = try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_xact_lock(hashtext('\(schema).outbox'))"), logger: logger)
            var locked = false
            for try await value in lock.decode(Bool.self) { locked = value }
            guard locked else { return (0, 0) }

            var rows: [(Int64, UUID, String, String, ByteBuffer)] = []
            let pending = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT id, message_id, topic, key, payload FROM \(schema).outbox
                WHERE published_at IS NULL ORDER BY id LIMIT \(limit)
                """), logger: logger)
            for try await row in pending.decode((Int64, UUID, String, String, ByteBuffer).self) {
                rows.append(row)
            }
            guard !rows.isEmpty else { return (0, 0) }

            let reports = await producer.send(rows.map { row in
                KafkaOutgoingMessage(topic: row.2, key: row.3, value: Array(buffer: row.4))
            })
            var sent: [Int64] = []
            var failedIDs: [Int64] = []
            var lastError = ""
            for (row, report) in zip(rows, reports) {
                if let error = report.error {
                    failedIDs.append(row.0)
                    lastError = error.description
                } else {
                    sent.append(row.0)
                }
            }
            if !sent.isEmpty {
                // clock_timestamp(): when the broker acknowledged, not when this transaction began.
                try await connection.query("UPDATE \(unescaped: schema).outbox SET published_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY(\(sent))", logger: logger)
            }
            if !failedIDs.isEmpty {
                try await connection.query("UPDATE \(unescaped: schema).outbox SET attempts = attempts + 1, last_error = \(lastError) WHERE id = ANY(\(failedIDs))", logger: logger)
                logger.warning("outbox relay: \(failedIDs.count) message(s) not delivered; they stay queued", metadata: ["outbox": "\(schema)", "error": "\(lastError)"])
            }
            return (rows.count, failedIDs.count)
        }
        if result.0 > 0 {
            publishTimer.recordInterval(since: start)
            published.increment(by: result.0 - result.1)
            if result.1 > 0 { failures.increment(by: result.1) }
        }
        return result
    }

}
