import CRdKafka
import Foundation
import Logging
import Synchronization

/// Decides where a consumer starts on the partitions it is given and hears when it loses them.
/// DX Pulse stores offsets in PostgreSQL with the effects of the messages, so the handler reads
/// them there; the consumer seeks before fetching anything.
public protocol KafkaRebalanceHandler: Sendable {
    /// The next offset to read for each partition; a partition left out starts at the
    /// configured default (the beginning).
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64]
    /// Called after the batch in flight (if any) has been processed and before the partitions go.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async
    /// For the partitions the handler can tell: what the message just before each stored offset
    /// (the last one applied) looks like, so that a log made anew is noticed (`StoredOffsetCheck`).
    func lastApplied(before stored: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition: KafkaMessageRecognizer]
}

extension KafkaRebalanceHandler {
    /// None: only the end of the log is checked against the stored offsets.
    public func lastApplied(before stored: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition: KafkaMessageRecognizer] { [:] }
}

/// A group member that hands over messages in batches. Iterate `batches`; asking for the next
/// batch tells the consumer the previous one is done, which is what a rebalance waits for.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let channel: BatchChannel
    private let poller: PollThread
    private let logger: Logger
    private let closed = Mutex(false)
    private let storedOffsetCheck: StoredOffsetCheck
    public let configuration: KafkaConsumerConfiguration

    public init(configuration: KafkaConsumerConfiguration, rebalanceHandler: any KafkaRebalanceHandler, logger: Logger) throws {
        try Librdkafka.requireSupportedVersion()
        let context = RDKafkaCallbackContext(logger: logger)
        let client = try RDKafkaClient(
            kind: .consumer,
            properties: configuration.librdkafkaProperties(),
            context: context,
            configure: { conf in rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }
        )
        let channel = BatchChannel(capacity: 2, maximumBatchSize: configuration.maximumBatchSize)
        let storedOffsetCheck = StoredOffsetCheck()
        self.storedOffsetCheck = storedOffsetCheck
        self.client = client
        self.channel = channel
        self.logger = logger
        self.configuration = configuration

        context.rebalance = { [logger] err, list in
            handleRebalance(client: client, channel: channel, handler: rebalanceHandler, storedOffsetCheck: storedOffsetCheck, logger: logger, err: err, list: list)
        }
        rd_kafka_poll_set_consumer(client.handle)

        let topics = rd_kafka_topic_partition_list_new(Int32(configuration.topics.count))
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        for topic in configuration.topics {
            rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA)
        }
        let err = rd_kafka_subscribe(client.handle, topics)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, operation: "subscribe", topic: configuration.topics.joined(separator: ","))
        }

        let maximumBatchSize = configuration.maximumBatchSize
        self.poller = PollThread(name: "dx-kafka-consumer-poll") {
            pollBatch(client: client, channel: channel, maximumBatchSize: maximumBatchSize, storedOffsetCheck: storedOffsetCheck, logger: logger)
        }
    }

    deinit {
        poller.stop()
    }

    /// The batches, in order per partition. Ends after `stop()` or `close()`.
    public var batches: KafkaBatches { KafkaBatches(channel: channel) }

    /// Stop handing out batches; the one being processed may finish. Call `close()` afterwards.
    public func stop() {
        channel.finish()
    }

    /// Tells the broker how far the group has got, for lag monitoring by standard tools. Offsets
    /// of record stay in PostgreSQL; this is asynchronous and best-effort.
    public func commitToBroker(_ nextOffsets: [KafkaTopicPartition: Int64]) {
        guard !nextOffsets.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(nextOffsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (tp, offset) in nextOffsets {
            rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)?.pointee.offset = offset
        }
        _ = rd_kafka_commit(client.handle, list, 1)
    }

    /// Messages on the broker not yet handed out, per assigned partition, from cached watermarks.
    public func lag() -> [KafkaTopicPartition: Int64] {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client.handle, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return [:] }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        _ = rd_kafka_position(client.handle, assignment)
        var result: [KafkaTopicPartition: Int64] = [:]
        for i in 0..<Int(assignment.pointee.cnt) {
            let element = assignment.pointee.elems[i]
            var low: Int64 = 0
            var high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(client.handle, element.topic, element.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  high >= 0 else { continue }
            let position = element.offset >= 0 ? element.offset : low
            result[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = max(0, high - position)
        }
        return result
    }

    /// Cluster metadata round trip, for readiness checks.
    public func checkConnection(timeout: Duration = .seconds(2)) async throws {
        let client = self.client
        _ = try await runBlocking("dx-kafka-metadata") {
            try client.fetchMetadata(timeoutMilliseconds: Int32(timeout.components.seconds * 1000))
        }
    }

    /// Leaves the group cleanly: the revocation handler runs, then the consumer closes. Call it
    /// once the loop over `batches` has ended (after `stop()`, or after breaking out). Idempotent.
    public func close() async {
        let first = closed.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        channel.finish(processingEnded: true)
        poller.stop()
        let client = self.client
        let logger = self.logger
        // rd_kafka_consumer_close runs the revocation callback on the calling thread, which
        // may block on async work: keep it off the cooperative pool.
        _ = try? await runBlocking("dx-kafka-consumer-close") {
            let err = rd_kafka_consumer_close(client.handle)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.warning("consumer close: \(KafkaError(err, operation: "close"))")
            }
        }
    }
}

/// `for await batch in consumer.batches` — each element is a non-empty batch of messages.
public struct KafkaBatches: AsyncSequence, Sendable {
    public typealias Element = [KafkaMessage]
    let channel: BatchChannel

    public struct AsyncIterator: AsyncIteratorProtocol {
        let channel: BatchChannel

        public mutating func next() async -> [KafkaMessage]? {
            await channel.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: channel) }
}

private let rebalanceCallback: @convention(c) (OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?) -> Void = { handle, err, list, _ in
    guard let list, let context = RDKafkaCallbackContext.from(handle), let rebalance = context.rebalance else { return }
    rebalance(err, list)
}

private func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
    (0..<Int(list.pointee.cnt)).map { i in
        let element = list.pointee.elems[i]
        return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
    }
}

/// Runs on the poll thread, inside librdkafka's poll call.
private func handleRebalance(
    client: RDKafkaClient,
    channel: BatchChannel,
    handler: any KafkaRebalanceHandler,
    storedOffsetCheck: StoredOffsetCheck,
    logger: Logger,
    err: rd_kafka_resp_err_t,
    list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
) {
    let assigned = partitions(of: list)
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        var offsets: [KafkaTopicPartition: Int64] = [:]
        var recognizers: [KafkaTopicPartition: KafkaMessageRecognizer] = [:]
        var attempt = 0
        while true {
            do {
                (offsets, recognizers) = try blockingAwait {
                    let offsets = try await handler.partitionsAssigned(assigned)
                    return (offsets, try await handler.lastApplied(before: offsets))
                }
                break
            } catch {
                attempt += 1
                // Without the stored offsets we cannot start without risking double work: retry.
                logger.error("loading stored offsets for assigned partitions failed; retrying", metadata: [
                    "attempt": "\(attempt)", "error": "\(error)",
                ])
                if channel.isFinished { break }
                Thread.sleep(forTimeInterval: min(5, 0.2 * Double(attempt)))
            }
        }
        let start = storedOffsetCheck.assigned(at: offsets, recognizers: recognizers, client: client)
        for i in 0..<Int(list.pointee.cnt) {
            let tp = assigned[i]
            list.pointee.elems[i].offset = start[tp] ?? Int64(RD_KAFKA_OFFSET_INVALID)
        }
        logger.info("partitions assigned", metadata: [
            "partitions": "\(assigned.map { "\($0)@\(offsets[$0].map(String.init) ?? "start")" }.joined(separator: ", "))",
        ])
        let assignErr = rd_kafka_assign(client.handle, list)
        if assignErr != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error("assign failed: \(KafkaError(assignErr, operation: "assign"))")
        }
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        channel.discard(partitions: Set(assigned))
        channel.waitUntilIdle()
        storedOffsetCheck.revoked(assigned)
        try? blockingAwait { await handler.partitionsRevoked(assigned) }
        logger.info("partitions revoked", metadata: ["partitions": "\(assigned.map(\.description).joined(separator: ", "))"])
        rd_kafka_assign(client.handle, nil)
    default:
        logger.error("rebalance error: \(KafkaError(err, operation: "rebalance"))")
        rd_kafka_assign(client.handle, nil)
    }
}

/// One turn of the poll thread: wait up to 100 ms for a message, then take what else is ready.
private func pollBatch(client: RDKafkaClient, channel: BatchChannel, maximumBatchSize: Int, storedOffsetCheck: StoredOffsetCheck, logger: Logger) {
    var batch: [KafkaMessage] = []
    var pointer = rd_kafka_consumer_poll(client.handle, 100)
    while let message = pointer {
        if let converted = convert(message, logger: logger) {
            batch.append(converted)
        }
        rd_kafka_message_destroy(message)
        if batch.count >= maximumBatchSize { break }
        pointer = rd_kafka_consumer_poll(client.handle, 0)
    }
    if !storedOffsetCheck.isIdle {
        batch = storedOffsetCheck.check(batch, client: client, logger: logger)
    }
    if !batch.isEmpty {
        channel.send(batch)
    }
}

private func convert(_ message: UnsafeMutablePointer<rd_kafka_message_t>, logger: Logger) -> KafkaMessage? {
    let m = message.pointee
    let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        logger.warning("consume: \(KafkaError(m.err, operation: "consume", topic: topic, partition: m.partition))")
        return nil
    }
    let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
    let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
    var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
    let timestamp = rd_kafka_message_timestamp(message, &timestampType)
    return KafkaMessage(
        topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
        timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
    )
}

/// Runs async work from a librdkafka callback on a dedicated thread and waits for it.
private func blockingAwait<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
    let semaphore = DispatchSemaphore(value: 0)
    let box = Mutex<Result<T, any Error>?>(nil)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await operation()) } catch { result = .failure(error) }
        box.withLock { $0 = result }
        semaphore.signal()
    }
    semaphore.wait()
    return try box.withLock { $0! }.get()
}
