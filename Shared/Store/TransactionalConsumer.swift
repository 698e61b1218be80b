import DXKafka
import DXModel
import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// A decoded message with where it came from.
public struct ConsumedMessage<Payload: Codable & Sendable>: Sendable {
    public var envelope: Envelope<Payload>
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

/// What a consuming service does with its messages. `apply` runs inside the transaction that also
/// records the messages' ids and the partitions' next offsets, so effects and progress commit
/// together.
public protocol TransactionalBatchHandler: Sendable {
    associatedtype Payload: Codable & Sendable

    /// The envelope `schema` this handler accepts.
    var schema: String { get }

    /// Applies messages not applied before, in order. Throw `InvalidMessage` for a message that
    /// can never be applied: it is dead-lettered and the consumer goes on.
    func apply(_ messages: [ConsumedMessage<Payload>], connection: PostgresConnection) async throws

    /// The transaction failed: state kept in memory since the last commit is stale.
    func transactionFailed() async
    /// The transaction committed.
    func transactionCommitted() async
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async
}

extension TransactionalBatchHandler {
    public func transactionFailed() async {}
    public func transactionCommitted() async {}
    public func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {}
    public func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
}

/// Consumes topics in a group and applies each batch exactly once: offsets and message ids live
/// in the service's schema, written in the batch's transaction; on assignment the consumer starts
/// from them, once the message before each is recognised as the one applied last (a broker that
/// lost its data starts its logs again, see `StoredOffsetCheck`). A message id seen before is
/// skipped (the outbox relay may publish twice). A message that cannot be decoded or applied goes,
/// with the error and its position, to dx.deadletter.v1.
public final class TransactionalConsumer<Handler: TransactionalBatchHandler>: Service, Sendable {
    public let name: String
    private let schema: String
    private let database: Database
    private let handler: Handler
    private let logger: Logger
    private let outbox: Outbox
    private let consumerConfiguration: KafkaConsumerConfiguration
    private let deadLetterTopic: String
    private let consumerBox = Mutex<KafkaConsumer?>(nil)
    private let batches: Counter
    private let messages: Counter
    private let duplicates: Counter
    private let deadLettered: Counter
    private let batchTimer: Metrics.Timer
    /// Where a batch's time goes (`dx_consumer_phase_seconds`): decoding its messages, recording
    /// their ids, the handler's work, storing the offsets (with any dead letters), and the commit.
    private let phaseTimers: PhaseTimers
    private let lagGauge: Gauge
    private let decodingTasks: Int

    /// - Parameters:
    ///   - name: the consumer's name in the offsets table (usually its group id).
    ///   - schema: the service's schema, holding `consumer_offsets`, `processed_messages`, `outbox`.
    ///   - decodingTasks: tasks a large batch is decoded in at once. More than one pays where a
    ///     batch is many small messages (dx-indicators); dx-alerts' batches of large messages,
    ///     decoded two at once, took 140 MiB more at its peak for no speed.
    public init(name: String, schema: String, configuration: KafkaConsumerConfiguration, deadLetterTopic: String, database: Database,
                handler: Handler, decodingTasks: Int = 1, logger: Logger) {
        self.decodingTasks = max(1, decodingTasks)
        self.deadLetterTopic = deadLetterTopic
        self.name = name
        self.schema = schema
        self.database = database
        self.handler = handler
        self.logger = logger
        self.outbox = Outbox(schema: schema)
        self.consumerConfiguration = configuration
        let dimensions = [("consumer", name)]
        batches = Counter(label: "dx_consumer_batches_total", dimensions: dimensions)
        messages = Counter(label: "dx_consumer_messages_total", dimensions: dimensions)
        duplicates = Counter(label: "dx_consumer_duplicates_total", dimensions: dimensions)
        deadLettered = Counter(label: "dx_consumer_dead_letters_total", dimensions: dimensions)
        batchTimer = Metrics.Timer(label: "dx_consumer_batch_seconds", dimensions: dimensions)
        phaseTimers = PhaseTimers(consumer: name)
        lagGauge = Gauge(label: "dx_consumer_lag_messages", dimensions: dimensions)
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, rebalanceHandler: RebalanceBridge(owner: self), logger: logger)
        consumerBox.withLock { $0 = consumer }
        logger.info("consuming", metadata: ["topics": "\(consumerConfiguration.topics.joined(separator: ","))", "group": "\(consumerConfiguration.groupID)"])
        await withGracefulShutdownHandler {
            for await batch in consumer.batches {
                // Cancelled: stop consuming; the batch is delivered again to whoever comes next.
                guard !Task.isCancelled else { break }
                await process(batch, consumer: consumer)
            }
        } onGracefulShutdown: {
            // Finish the batch in flight, then stop.
            consumer.stop()
        }
        await consumer.close()
        logger.info("consumer closed")
    }

    /// Checks the broker answers, for readiness.
    public func checkKafka() async throws {
        guard let consumer = consumerBox.withLock({ $0 }) else {
            throw KafkaError(message: "consumer not started", operation: "readiness")
        }
        try await consumer.checkConnection()
    }

    // MARK: - Processing

    private func process(_ batch: [KafkaMessage], consumer: KafkaConsumer) async {
        let start = DispatchTime.now()
        var attempt = 0
        while true {
            do {
                try await applyIsolatingPoison(batch)
                break
            } catch {
                await handler.transactionFailed()
                // Cancelled, nothing can be applied and the sleep returns at once: leave the batch
                // uncommitted (it is delivered again) rather than retry it in a tight loop.
                if Task.isCancelled { return }
                attempt += 1
                let delay = Duration.milliseconds(min(5000, 100 * (1 << min(attempt, 6))))
                logger.warning("batch not applied; retrying", metadata: [
                    "attempt": "\(attempt)", "error": "\(error.postgresDescription)", "messages": "\(batch.count)",
                ])
                try? await Task.sleep(for: delay)
            }
        }
        batchTimer.recordInterval(since: start)
        batches.increment()
        messages.increment(by: batch.count)
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in batch { next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1) }
        consumer.commitToBroker(next)
        lagGauge.record(consumer.lag().values.reduce(0, +))
    }

    /// Applies the batch in one transaction; when something in it cannot be applied (not a lost
    /// connection, a problem with the data), applies its halves, in order, the same way, until the
    /// bad message is alone and dead-lettered. One bad message in a batch of n costs about
    /// 2·log₂ n transactions; applied one by one, a large batch's messages took n. Throws only
    /// transient errors, to be retried.
    private func applyIsolatingPoison(_ batch: [KafkaMessage]) async throws {
        do {
            try await applyInTransaction(batch, deadLetterReason: nil)
        } catch where !isTransient(error) {
            await handler.transactionFailed()
            if batch.count == 1 {
                logger.error("message cannot be applied; dead-lettering it", metadata: [
                    "topic": "\(batch[0].topic)", "partition": "\(batch[0].partition)", "offset": "\(batch[0].offset)",
                    "error": "\(error.postgresDescription)",
                ])
                try await applyInTransaction(batch, deadLetterReason: error.postgresDescription)
            } else {
                let middle = batch.count / 2
                try await applyIsolatingPoison(Array(batch[..<middle]))
                try await applyIsolatingPoison(Array(batch[middle...]))
            }
        }
    }

    private func applyInTransaction(_ batch: [KafkaMessage], deadLetterReason: String?) async throws {
        var decoded: [ConsumedMessage<Handler.Payload>] = []
        var deadLetters: [DeadLetter] = []
        if let deadLetterReason {
            deadLetters = batch.map { deadLetter($0, error: deadLetterReason) }
        } else {
            let decodeStart = DispatchTime.now()
            defer { phaseTimers.decode.recordInterval(since: decodeStart) }
            for message in await decode(batch) {
                switch message {
                case .message(let message): decoded.append(message)
                case .deadLetter(let letter): deadLetters.append(letter)
                }
            }
        }

        let name = self.name
        let schema = self.schema
        let logger = self.logger
        let handler = self.handler
        let outbox = self.outbox
        let source = name
        let deadLetterTopic = self.deadLetterTopic
        let timers = phaseTimers
        let (duplicateCount, deadCount, bodyEnd) = try await database.withTransaction { connection -> (Int, Int, DispatchTime) in
            var phaseStart = DispatchTime.now()
            func endPhase(_ timer: Metrics.Timer) {
                timer.recordInterval(since: phaseStart)
                phaseStart = .now()
            }
            var fresh = decoded
            if !decoded.isEmpty {
                let inserted = try await connection.query("""
                    INSERT INTO \(unescaped: schema).processed_messages (consumer, message_id, topic, partition, "offset")
                    SELECT \(name), id, topic, part, off
                    FROM unnest(\(decoded.map(\.envelope.id))::uuid[], \(decoded.map(\.topic))::text[],
                                \(decoded.map { Int($0.partition) })::int[], \(decoded.map { Int($0.offset) })::bigint[]) AS m(id, topic, part, off)
                    ON CONFLICT DO NOTHING
                    RETURNING message_id
                    """, logger: logger)
                var new = Set<UUID>()
                for try await id in inserted.decode(UUID.self) { new.insert(id) }
                // The first of two copies in one batch is the one applied.
                var seen = Set<UUID>()
                fresh = decoded.filter { new.contains($0.envelope.id) && seen.insert($0.envelope.id).inserted }
            }
            endPhase(timers.record)
            if !fresh.isEmpty {
                try await handler.apply(fresh, connection: connection)
            }
            endPhase(timers.apply)
            if !deadLetters.isEmpty {
                let messages = try deadLetters.map { letter in
                    try OutboxMessage(topic: deadLetterTopic, key: letter.topic,
                                      envelope: Envelope(schema: DeadLetter.schema, source: source, data: letter))
                }
                try await outbox.enqueue(messages, on: connection, logger: logger)
            }
            var next: [KafkaTopicPartition: Int64] = [:]
            for message in batch { next[message.topicPartition] = max(next[message.topicPartition] ?? 0, message.offset + 1) }
            let partitions = Array(next.keys)
            try await connection.query("""
                INSERT INTO \(unescaped: schema).consumer_offsets (consumer, topic, partition, next_offset)
                SELECT \(name), topic, part, off
                FROM unnest(\(partitions.map(\.topic))::text[], \(partitions.map { Int($0.partition) })::int[],
                            \(partitions.map { Int(next[$0]!) })::bigint[]) AS o(topic, part, off)
                ON CONFLICT (consumer, topic, partition)
                DO UPDATE SET next_offset = GREATEST(\(unescaped: schema).consumer_offsets.next_offset, excluded.next_offset), updated_at = now()
                """, logger: logger)
            endPhase(timers.offsets)
            return (decoded.count - fresh.count, deadLetters.count, DispatchTime.now())
        }
        timers.commit.recordInterval(since: bodyEnd)
        await handler.transactionCommitted()
        if duplicateCount > 0 {
            duplicates.increment(by: duplicateCount)
            logger.info("skipped \(duplicateCount) message(s) applied before")
        }
        if deadCount > 0 {
            deadLettered.increment(by: deadCount)
            logger.warning("sent \(deadCount) message(s) to \(deadLetterTopic)")
        }
    }

    /// A batch's messages decoded, in order, or each one's dead letter. A large batch is decoded
    /// in slices at once, up to `decodingTasks`: decoding is pure, and one message after another
    /// it was a tenth of dx-indicators' time per batch in the national load, while a core idled.
    private func decode(_ batch: [KafkaMessage]) async -> [Decoded] {
        let slices = min(decodingTasks, batch.count / Self.messagesPerDecodingSlice)
        guard slices > 1 else { return batch.map(decode) }
        let size = (batch.count + slices - 1) / slices
        return await withTaskGroup(of: (Int, [Decoded]).self) { group in
            for slice in 0..<slices {
                let messages = batch[min(batch.count, slice * size)..<min(batch.count, (slice + 1) * size)]
                group.addTask { (slice, messages.map(self.decode)) }
            }
            var results = Array(repeating: [Decoded](), count: slices)
            for await (slice, decoded) in group { results[slice] = decoded }
            return results.flatMap { $0 }
        }
    }

    /// A message of a batch, decoded or refused.
    private enum Decoded: Sendable {
        case message(ConsumedMessage<Handler.Payload>)
        case deadLetter(DeadLetter)
    }

    /// Fewest messages worth a slice of their own.
    static var messagesPerDecodingSlice: Int { 32 }

    private func decode(_ message: KafkaMessage) -> Decoded {
        do {
            // The whole envelope first, its schema checked after: reading the header before
            // every payload skipped through the message once more. Only a message whose payload
            // does not decode has its header read, so a wrong schema is named as the fault.
            let envelope: Envelope<Handler.Payload>
            do {
                envelope = try MessageCoding.decode(Envelope<Handler.Payload>.self, from: message.value)
            } catch {
                try checkSchema(try MessageCoding.decode(EnvelopeHeader.self, from: message.value).schema)
                throw error
            }
            try checkSchema(envelope.schema)
            return .message(ConsumedMessage(envelope: envelope, topic: message.topic, partition: message.partition, offset: message.offset))
        } catch let error as InvalidMessage {
            return .deadLetter(deadLetter(message, error: error.description))
        } catch {
            return .deadLetter(deadLetter(message, error: "cannot decode: \(MessageCoding.describe(error))"))
        }
    }

    private func checkSchema(_ schema: String) throws(InvalidMessage) {
        guard schema == handler.schema else { throw InvalidMessage("schema is '\(schema)', expected '\(handler.schema)'") }
    }

    private func deadLetter(_ message: KafkaMessage, error: String) -> DeadLetter {
        DeadLetter(consumer: name, topic: message.topic, partition: message.partition, offset: message.offset, error: error, payload: message.value)
    }

    /// Errors worth retrying as they are: the connection or the server, not the data.
    private func isTransient(_ error: any Error) -> Bool {
        if error is InvalidMessage { return false }
        if let transaction = error as? PostgresTransactionError {
            if let closure = transaction.closureError { return isTransient(closure) }
            if let commit = transaction.commitError { return isTransient(commit) }
            return true
        }
        if let psql = error as? PSQLError {
            guard psql.code == .server, let state = psql.serverInfo?[.sqlState] else { return true }
            // Connection (08), transaction rollback (40), resources (53), operator intervention (57).
            return ["08", "40", "53", "57"].contains(String(state.prefix(2)))
        }
        return true
    }

    // MARK: - Rebalance

    fileprivate func storedOffsets(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        let rows = try await database.query("""
            SELECT topic, partition, next_offset FROM \(unescaped: schema).consumer_offsets
            WHERE consumer = \(name) AND topic = ANY(\(Array(Set(partitions.map(\.topic)))))
            """)
        var result: [KafkaTopicPartition: Int64] = [:]
        let wanted = Set(partitions)
        for try await (topic, partition, offset) in rows.decode((String, Int32, Int64).self) {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            if wanted.contains(tp) { result[tp] = offset }
        }
        await handler.partitionsAssigned(partitions)
        return result
    }

    /// The ids of the messages applied last, just before the stored offsets, from the ids this
    /// consumer keeps; a partition whose last message was dead-lettered or a second copy has none.
    fileprivate func lastApplied(before stored: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition: KafkaMessageRecognizer] {
        let previous = stored.filter { $0.value > 0 }
        guard !previous.isEmpty else { return [:] }
        let partitions = Array(previous.keys)
        let rows = try await database.query("""
            SELECT p.topic, p.partition, p.message_id FROM \(unescaped: schema).processed_messages p
            JOIN unnest(\(partitions.map(\.topic))::text[], \(partitions.map { Int($0.partition) })::int[],
                        \(partitions.map { Int(previous[$0]! - 1) })::bigint[]) AS s(topic, part, off)
              ON p.topic = s.topic AND p.partition = s.part AND p."offset" = s.off
            WHERE p.consumer = \(name)
            """)
        var result: [KafkaTopicPartition: KafkaMessageRecognizer] = [:]
        for try await (topic, partition, id) in rows.decode((String, Int32, UUID).self) {
            result[KafkaTopicPartition(topic: topic, partition: partition)] = { message in
                (try? MessageCoding.decode(EnvelopeHeader.self, from: message.value))?.id == id
            }
        }
        return result
    }

    fileprivate func revoked(_ partitions: [KafkaTopicPartition]) async {
        await handler.partitionsRevoked(partitions)
    }
}

private struct RebalanceBridge<Handler: TransactionalBatchHandler>: KafkaRebalanceHandler {
    let owner: TransactionalConsumer<Handler>

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        try await owner.storedOffsets(partitions)
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {
        await owner.revoked(partitions)
    }

    func lastApplied(before stored: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition: KafkaMessageRecognizer] {
        try await owner.lastApplied(before: stored)
    }
}

/// The timers of a consumer's batch phases.
private struct PhaseTimers: Sendable {
    let decode, record, apply, offsets, commit: Metrics.Timer

    init(consumer: String) {
        func timer(_ phase: String) -> Metrics.Timer {
            Metrics.Timer(label: "dx_consumer_phase_seconds", dimensions: [("consumer", consumer), ("phase", phase)])
        }
        (decode, record, apply, offsets, commit) = (timer("decode"), timer("record"), timer("apply"), timer("offsets"), timer("commit"))
    }
}
