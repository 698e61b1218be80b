import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Publishes messages and tells the caller, per message, whether the broker took it. `send`
/// returns only once every message has a delivery report, so a caller that marks work done after
/// `send` never marks done what the broker does not have.
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let poller: PollThread
    private let logger: Logger
    private let shutDown = Mutex(false)

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws {
        try Librdkafka.requireSupportedVersion()
        let context = RDKafkaCallbackContext(logger: logger)
        self.client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.librdkafkaProperties(),
            context: context,
            configure: { conf in rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback) }
        )
        self.logger = logger
        let client = self.client
        self.poller = PollThread(name: "dx-kafka-producer-poll") {
            // Serves delivery reports; returns within 50 ms so the thread notices a stop.
            rd_kafka_poll(client.handle, 50)
        }
    }

    deinit {
        poller.stop()
    }

    /// Publishes `messages` and waits for all their delivery reports. Never throws for a
    /// message the broker refused: that message's report carries the error.
    public func send(_ messages: [KafkaOutgoingMessage]) async -> [KafkaDeliveryReport] {
        guard !messages.isEmpty else { return [] }
        let batch = DeliveryBatch(count: messages.count)
        return await withCheckedContinuation { continuation in
            batch.start(continuation)
            for (index, message) in messages.enumerated() {
                let ticket = Unmanaged.passRetained(DeliveryTicket(batch: batch, index: index, topic: message.topic))
                let err = produceRetryingWhileQueueFull(message, opaque: ticket.toOpaque())
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    // librdkafka did not take the message, so no report will come: answer now.
                    ticket.release()
                    batch.complete(
                        index: index,
                        report: KafkaDeliveryReport(
                            topic: message.topic, partition: -1, offset: -1,
                            error: KafkaError(err, operation: "produce", topic: message.topic)
                        )
                    )
                }
            }
        }
    }

    /// Publishes one message; throws its delivery error.
    @discardableResult
    public func send(_ message: KafkaOutgoingMessage) async throws -> KafkaDeliveryReport {
        let report = await send([message])[0]
        if let error = report.error { throw error }
        return report
    }

    private func produceRetryingWhileQueueFull(_ message: KafkaOutgoingMessage, opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        while true {
            let err = message.key.withUnsafeBytes { key in
                message.value.withUnsafeBytes { value in
                    dx_rd_kafka_produce(
                        client.handle, message.topic,
                        key.baseAddress, key.count,
                        value.baseAddress, value.count,
                        opaque
                    )
                }
            }
            // The local queue is full: the poll thread drains it as reports arrive.
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                Thread.sleep(forTimeInterval: 0.005)
                continue
            }
            return err
        }
    }

    /// Waits until every queued message has its report, or the timeout passes.
    public func flush(timeout: Duration = .seconds(10)) async throws {
        let client = self.client
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        try await runBlocking("dx-kafka-flush") {
            let err = rd_kafka_flush(client.handle, milliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(err, operation: "flush")
            }
        }
    }

    /// Cluster metadata round trip, for readiness checks.
    public func checkConnection(timeout: Duration = .seconds(2)) async throws {
        let client = self.client
        _ = try await runBlocking("dx-kafka-metadata") {
            try client.fetchMetadata(timeoutMilliseconds: Int32(timeout.components.seconds * 1000))
        }
    }

    /// Flushes what is queued and stops polling. Safe to call more than once.
    public func shutdown() async {
        let first = shutDown.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        do {
            try await flush()
        } catch {
            logger.error("producer flush at shutdown failed; unflushed messages are still in the outbox", metadata: ["error": "\(error)"])
        }
        poller.stop()
    }

    /// Runs until graceful shutdown, then flushes.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// Collects the reports of one `send` and resumes its caller when the last one arrives.
private final class DeliveryBatch: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [KafkaDeliveryReport?]
    private var remaining: Int
    private var continuation: CheckedContinuation<[KafkaDeliveryReport], Never>?

    init(count: Int) {
        reports = Array(repeating: nil, count: count)
        remaining = count
    }

    func start(_ continuation: CheckedContinuation<[KafkaDeliveryReport], Never>) {
        lock.lock()
        self.continuation = continuation
        lock.unlock()
    }

    func complete(index: Int, report: KafkaDeliveryReport) {
        lock.lock()
        reports[index] = report
        remaining -= 1
        let done = remaining == 0 ? continuation : nil
        if done != nil { continuation = nil }
        let result = done != nil ? reports.map { $0! } : []
        lock.unlock()
        done?.resume(returning: result)
    }
}

/// One message's link back to its batch, passed through librdkafka as the message opaque.
private final class DeliveryTicket {
    let batch: DeliveryBatch
    let index: Int
    let topic: String

    init(batch: DeliveryBatch, index: Int, topic: String) {
        self.batch = batch
        self.index = index
        self.topic = topic
    }
}

private let deliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let ticket = Unmanaged<DeliveryTicket>.fromOpaque(opaque).takeRetainedValue()
    let err = message.pointee.err
    let report = KafkaDeliveryReport(
        topic: ticket.topic,
        partition: message.pointee.partition,
        offset: message.pointee.offset,
        error: err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaError(err, operation: "deliver", topic: ticket.topic, partition: message.pointee.partition)
    )
    ticket.batch.complete(index: ticket.index, report: report)
}
