import CRdKafka

/// An error from librdkafka or from our use of it, with the operation and the topic/partition it
/// concerned, so a log line says what failed and where rather than only an error code.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// librdkafka's `rd_kafka_resp_err_t` value, or nil for errors of our own making.
    public var code: Int32?
    public var message: String
    public var operation: String
    public var topic: String?
    public var partition: Int32?

    public init(code: Int32? = nil, message: String, operation: String, topic: String? = nil, partition: Int32? = nil) {
        self.code = code
        self.message = message
        self.operation = operation
        self.topic = topic
        self.partition = partition
    }

    init(_ err: rd_kafka_resp_err_t, operation: String, topic: String? = nil, partition: Int32? = nil) {
        self.init(
            code: err.rawValue,
            message: String(cString: rd_kafka_err2str(err)),
            operation: operation,
            topic: topic,
            partition: partition
        )
    }

    /// The librdkafka error name, e.g. `_MSG_TIMED_OUT`.
    public var name: String? {
        code.map { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: $0))) }
    }

    public var description: String {
        var where_ = ""
        if let topic { where_ += " topic \(topic)" }
        if let partition { where_ += " partition \(partition)" }
        let codeName = name.map { " [\($0)]" } ?? ""
        return "Kafka \(operation) failed\(where_): \(message)\(codeName)"
    }
}
