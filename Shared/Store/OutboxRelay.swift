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
    /// Payloads this process committed, published from memory instead of read back.
    private let memory: OutboxMemory?
    private let database: Database
    private let producer: KafkaProducer
    private let configuration: Configuration
    private let logger: Logger
    private let wake = WakeSignal()
    private let published: Counter
    private let failures: Counter
    private let publishTimer: Metrics.Timer
    private let memoryHits: Counter

    public init(outbox: Outbox, memory: OutboxMemory? = nil, database: Database, producer: KafkaProducer, configuration: Configuration = .init(),
                logger: Logger) {
        self.outbox = outbox
        self.memory = memory
        self.database = database
        self.producer = producer
        self.configuration = configuration
        self.logger = logger
        self.published = Counter(label: "dx_outbox_published_total", dimensions: [("outbox", outbox.schema)])
        self.failures = Counter(label: "dx_outbox_publish_failures_total", dimensions: [("outbox", outbox.schema)])
        self.publishTimer = Metrics.Timer(label: "dx_outbox_publish_seconds", dimensions: [("outbox", outbox.schema)])
        self.memoryHits = Counter(label: "dx_outbox_published_from_memory_total", dimensions: [("outbox", outbox.schema)])
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

            let rows = try await self.pending(limit: limit, on: connection)
            guard !rows.isEmpty else { return (0, 0) }

            let reports = await producer.send(rows.map { row in
                KafkaOutgoingMessage(topic: row.topic, key: row.key, value: row.payload)
            })
            var sent: [Int64] = []
            var failedIDs: [Int64] = []
            var lastError = ""
            for (row, report) in zip(rows, reports) {
                if let error = report.error {
                    failedIDs.append(row.id)
                    lastError = error.description
                } else {
                    sent.append(row.id)
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

    private struct PendingRow {
        var id: Int64
        var messageID: UUID
        var topic: String
        var key: String
        var payload: [UInt8]
    }

    /// The next rows to publish, in order, with their payloads: from memory where this process
    /// kept them (the payload column is then not read at all), from the rows for the rest.
    private func pending(limit: Int, on connection: PostgresConnection) async throws -> [PendingRow] {
        let schema = outbox.schema
        let payload = memory == nil ? "payload" : "NULL::bytea"
        var rows: [PendingRow] = []
        var missing: [Int64: Int] = [:]
        let pending = try await connection.query(PostgresQuery(unsafeSQL: """
            SELECT id, message_id, topic, key, \(payload) FROM \(schema).outbox
            WHERE published_at IS NULL ORDER BY id LIMIT \(limit)
            """), logger: logger)
        for try await (id, messageID, topic, key, payload) in pending.decode((Int64, UUID, String, String, ByteBuffer?).self) {
            if payload == nil { missing[id] = rows.count }
            rows.append(PendingRow(id: id, messageID: messageID, topic: topic, key: key, payload: payload.map { Array(buffer: $0) } ?? []))
        }
        if let memory, !missing.isEmpty {
            let kept = memory.take(missing.values.map { rows[$0].messageID })
            for (id, index) in missing {
                guard let payload = kept[rows[index].messageID] else { continue }
                rows[index].payload = payload
                missing[id] = nil
            }
            memoryHits.increment(by: kept.count)
        }
        if !missing.isEmpty {
            let ids = Array(missing.keys)
            for try await (id, payload) in try await connection.query("SELECT id, payload FROM \(unescaped: schema).outbox WHERE id = ANY(\(ids))",
                                                                        logger: logger).decode((Int64, ByteBuffer).self) {
                if let index = missing.removeValue(forKey: id) { rows[index].payload = Array(buffer: payload) }
            }
            // Rows are only ever marked, never deleted, and this pass holds the outbox's lock.
            guard missing.isEmpty else {
                throw OutboxRelayError("\(schema).outbox rows \(missing.keys.sorted()) vanished while the relay held its lock")
            }
        }
        return rows
    }
}

/// The outbox changed under the relay in a way it cannot explain: the pass is rolled back and retried.
struct OutboxRelayError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
