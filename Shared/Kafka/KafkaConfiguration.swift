/// Settings shared by every client: where the brokers are and any librdkafka property passed
/// through untouched (TLS, SASL, timeouts), so operators can configure what we did not foresee.
public struct KafkaClientConfiguration: Sendable {
    /// Comma-separated `host:port` list (librdkafka's `bootstrap.servers`).
    public var bootstrapServers: String
    public var clientID: String
    /// librdkafka properties applied last, e.g. `["security.protocol": "SSL"]`.
    public var properties: [String: String]

    public init(bootstrapServers: String, clientID: String, properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// Reads `DX_KAFKA_<PROPERTY>` variables into librdkafka properties: `DX_KAFKA_SECURITY_PROTOCOL=SSL`
    /// becomes `security.protocol=SSL`. `DX_KAFKA_BROKERS` is the bootstrap list, not a property.
    public static func properties(fromEnvironment environment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("DX_KAFKA_") && name != "DX_KAFKA_BROKERS" {
            let property = name.dropFirst("DX_KAFKA_".count).lowercased().replacingOccurrences(of: "_", with: ".")
            if !property.isEmpty { result[property] = value }
        }
        return result
    }

    func librdkafkaProperties() -> [String: String] {
        var props = ["bootstrap.servers": bootstrapServers, "client.id": clientID]
        for (key, value) in properties { props[key] = value }
        return props
    }
}

/// A producer that never loses or duplicates what it was given: idempotent, acks from all
/// in-sync replicas, and a delivery report for every message.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// How long librdkafka may batch before sending; small keeps latency low.
    public var lingerMilliseconds: Int = 5
    /// How long a message may wait for delivery before its report says it failed.
    public var messageTimeoutMilliseconds: Int = 30_000
    public var compression: String = "lz4"

    public init(client: KafkaClientConfiguration) {
        self.client = client
    }

    func librdkafkaProperties() -> [String: String] {
        var props: [String: String] = [
            "enable.idempotence": "true",
            "acks": "all",
            "linger.ms": String(lingerMilliseconds),
            "message.timeout.ms": String(messageTimeoutMilliseconds),
            "compression.codec": compression,
            // Same key → partition mapping as the Java client, so other producers agree with us.
            "partitioner": "murmur2_random",
        ]
        for (key, value) in client.librdkafkaProperties() { props[key] = value }
        return props
    }
}

/// A consumer in a group whose offsets live elsewhere (in PostgreSQL, next to the effects of the
/// messages): no auto-commit, and on assignment it starts where the rebalance handler says.
public struct KafkaConsumerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    public var groupID: String
    public var topics: [String]
    /// Most messages handed over in one batch.
    public var maximumBatchSize: Int = 1_000
    /// Where to start on a partition the handler has no offset for.
    public var startFromBeginning: Bool = true
    public var sessionTimeoutMilliseconds: Int = 10_000
    /// How long the broker may hold a fetch that finds nothing new. Kafka answers as soon as a
    /// message arrives, whatever this is; Tansu answers a held fetch only when the time is up, so a
    /// message reaching a waiting consumer waited 100–250 ms at librdkafka's 500 ms and 20–50 ms at
    /// 100 ms (measured against Tansu). Shorter costs an empty fetch per interval when idle.
    public var fetchWaitMaxMilliseconds: Int = 100

    public init(client: KafkaClientConfiguration, groupID: String, topics: [String]) {
        self.client = client
        self.groupID = groupID
        self.topics = topics
    }

    func librdkafkaProperties() -> [String: String] {
        var props: [String: String] = [
            "group.id": groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": startFromBeginning ? "earliest" : "latest",
            "enable.partition.eof": "false",
            "session.timeout.ms": String(sessionTimeoutMilliseconds),
            "fetch.wait.max.ms": String(fetchWaitMaxMilliseconds),
            "partition.assignment.strategy": "range,roundrobin",
        ]
        for (key, value) in client.librdkafkaProperties() { props[key] = value }
        return props
    }
}
