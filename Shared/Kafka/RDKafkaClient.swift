import CRdKafka
import Foundation
import Logging

/// What librdkafka's C callbacks need to reach Swift. The client keeps it alive; librdkafka gets
/// an unretained pointer to it as the instance opaque.
final class RDKafkaCallbackContext: @unchecked Sendable {
    let logger: Logger
    /// Set by the consumer before the handle exists; called on the consumer's poll thread.
    var rebalance: (@Sendable (rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?

    init(logger: Logger) {
        self.logger = logger
    }

    static func from(_ handle: OpaquePointer?) -> RDKafkaCallbackContext? {
        guard let handle, let opaque = rd_kafka_opaque(handle) else { return nil }
        return Unmanaged<RDKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Owns one `rd_kafka_t`: created from a property map, destroyed exactly once in `deinit`.
/// librdkafka's handle is thread-safe, so the class is Sendable; callers never see the pointer.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer, consumer

        var cValue: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    let handle: OpaquePointer
    let context: RDKafkaCallbackContext
    let kind: Kind

    init(
        kind: Kind,
        properties: [String: String],
        context: RDKafkaCallbackContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(message: "rd_kafka_conf_new returned NULL", operation: "create client")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(
                    message: "property \(key)=\(value) rejected: \(String(errorBuffer: errorBuffer))",
                    operation: "configure client"
                )
            }
        }
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, { handle, level, facility, message in
            guard let context = RDKafkaCallbackContext.from(handle) else { return }
            let text = "\(facility.map { String(cString: $0) } ?? "-"): \(message.map { String(cString: $0) } ?? "")"
            switch level {
            case 0...3: context.logger.error("librdkafka \(text)")
            case 4: context.logger.warning("librdkafka \(text)")
            case 5, 6: context.logger.info("librdkafka \(text)")
            default: context.logger.debug("librdkafka \(text)")
            }
        })
        rd_kafka_conf_set_error_cb(conf, { handle, code, reason, _ in
            guard let context = RDKafkaCallbackContext.from(handle) else { return }
            let error = KafkaError(rd_kafka_resp_err_t(rawValue: code), operation: "client")
            let reasonText = reason.map { String(cString: $0) } ?? ""
            // Transport errors are retried by librdkafka; they matter only when they persist.
            context.logger.warning("librdkafka error: \(reasonText)", metadata: ["kafka.error": "\(error.name ?? "")"])
        })
        configure(conf)

        guard let handle = rd_kafka_new(kind.cValue, conf, &errorBuffer, errorBuffer.count) else {
            // rd_kafka_new frees conf only on success.
            rd_kafka_conf_destroy(conf)
            throw KafkaError(message: String(errorBuffer: errorBuffer), operation: "create client")
        }
        self.handle = handle
        self.context = context
        self.kind = kind
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Cluster metadata round trip: proves the brokers answer. Blocks up to `timeout`.
    func fetchMetadata(timeoutMilliseconds: Int32) throws -> [String: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(err, operation: "fetch metadata")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var topics: [String: Int] = [:]
        for i in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[i]
            if topic.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                topics[String(cString: topic.topic)] = Int(topic.partition_cnt)
            }
        }
        return topics
    }
}

/// Runs blocking librdkafka calls (flush, metadata, admin requests) on their own thread so they
/// never hold one of the few threads of Swift's cooperative pool.
func runBlocking<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = name
        thread.start()
    }
}
