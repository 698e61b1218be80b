import CRdKafka
import Foundation
import Logging

/// Topic management through the Kafka admin API. Creating a topic that exists is not an error:
/// every service ensures the topics it needs at start, in any order.
public struct KafkaAdmin: Sendable {
    public struct TopicSpecification: Sendable {
        public var name: String
        public var partitions: Int
        public var replicationFactor: Int
        /// Topic-level configuration, e.g. `retention.ms`.
        public var config: [String: String]

        public init(name: String, partitions: Int, replicationFactor: Int = 1, config: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    private let configuration: KafkaClientConfiguration
    private let logger: Logger

    public init(configuration: KafkaClientConfiguration, logger: Logger) throws {
        try Librdkafka.requireSupportedVersion()
        self.configuration = configuration
        self.logger = logger
    }

    /// Creates the topics that do not exist yet; returns the names it created.
    @discardableResult
    public func ensureTopics(_ topics: [TopicSpecification], timeout: Duration = .seconds(15)) async throws -> [String] {
        let client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.librdkafkaProperties(),
            context: RDKafkaCallbackContext(logger: logger)
        )
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return try await runBlocking("dx-kafka-admin") {
            try createTopics(client: client, topics: topics, timeoutMilliseconds: milliseconds)
        }
    }

    /// Topic names and partition counts the cluster reports.
    public func listTopics(timeout: Duration = .seconds(5)) async throws -> [String: Int] {
        let client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.librdkafkaProperties(),
            context: RDKafkaCallbackContext(logger: logger)
        )
        let milliseconds = Int32(timeout.components.seconds * 1000)
        return try await runBlocking("dx-kafka-admin") {
            try client.fetchMetadata(timeoutMilliseconds: milliseconds)
        }
    }
}

private func createTopics(client: RDKafkaClient, topics: [KafkaAdmin.TopicSpecification], timeoutMilliseconds: Int32) throws -> [String] {
    var errorBuffer = [CChar](repeating: 0, count: 512)
    var newTopics: [OpaquePointer?] = []
    defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
    for spec in topics {
        guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorBuffer, errorBuffer.count) else {
            throw KafkaError(message: String(errorBuffer: errorBuffer), operation: "create topic", topic: spec.name)
        }
        for (key, value) in spec.config {
            let err = rd_kafka_NewTopic_set_config(topic, key, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                rd_kafka_NewTopic_destroy(topic)
                throw KafkaError(err, operation: "configure topic \(key)", topic: spec.name)
            }
        }
        newTopics.append(topic)
    }
    guard let queue = rd_kafka_queue_new(client.handle) else {
        throw KafkaError(message: "rd_kafka_queue_new returned NULL", operation: "create topics")
    }
    defer { rd_kafka_queue_destroy(queue) }
    let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
    defer { rd_kafka_AdminOptions_destroy(options) }
    rd_kafka_AdminOptions_set_request_timeout(options, timeoutMilliseconds, &errorBuffer, errorBuffer.count)
    rd_kafka_AdminOptions_set_operation_timeout(options, timeoutMilliseconds, &errorBuffer, errorBuffer.count)

    newTopics.withUnsafeMutableBufferPointer { buffer in
        rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
    }
    guard let event = rd_kafka_queue_poll(queue, timeoutMilliseconds + 1000) else {
        throw KafkaError(message: "no answer from the brokers within \(timeoutMilliseconds) ms", operation: "create topics")
    }
    defer { rd_kafka_event_destroy(event) }
    let eventErr = rd_kafka_event_error(event)
    if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR {
        throw KafkaError(code: eventErr.rawValue, message: String(cString: rd_kafka_event_error_string(event)), operation: "create topics")
    }
    guard let result = rd_kafka_event_CreateTopics_result(event) else {
        throw KafkaError(message: "unexpected admin event", operation: "create topics")
    }
    var count = 0
    guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [] }
    var created: [String] = []
    for i in 0..<count {
        let topicResult = results[i]
        let name = String(cString: rd_kafka_topic_result_name(topicResult))
        let err = rd_kafka_topic_result_error(topicResult)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            created.append(name)
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            continue
        default:
            let message = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) } ?? ""
            throw KafkaError(code: err.rawValue, message: message, operation: "create topic", topic: name)
        }
    }
    return created
}
