import DXKafka
import DXModel
import DXStore
import Foundation

/// A service's settings, all from environment variables (README lists them). A missing or
/// malformed variable is an error that names it.
public struct ServiceConfiguration: Sendable {
    public var serviceName: String
    /// `DX_POSTGRES_URL`: the service's own role.
    public var database: DatabaseConfiguration
    /// `DX_KAFKA_BROKERS`.
    public var kafkaBrokers: String
    /// `DX_KAFKA_<PROPERTY>`: passed to librdkafka.
    public var kafkaProperties: [String: String]
    /// `DX_HTTP_HOST`, `DX_HTTP_PORT`.
    public var httpHost: String
    public var httpPort: Int
    /// `DX_LOG_LEVEL` (trace … critical), `DX_LOG_FORMAT` (text, json).
    public var logLevel: String
    public var logFormat: String
    /// `DX_TOPIC_PARTITIONS`: partitions of topics this service creates.
    public var topicPartitions: Int
    /// `DX_CONSUMER_GROUP` (default: the prefix and the service name).
    public var consumerGroup: String
    /// `DX_TOPIC_PREFIX`: prepended to every topic name.
    public var topics: TopicNames
    public var environment: [String: String]

    public init(service: String, defaultPort: Int, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let env = EnvironmentReader(environment)
        serviceName = service
        database = try DatabaseConfiguration(url: try env.required("DX_POSTGRES_URL"))
        database.maximumConnections = try env.integer("DX_POSTGRES_POOL_SIZE", default: 10, range: 1...200)
        kafkaBrokers = env.string("DX_KAFKA_BROKERS", default: "127.0.0.1:9092")
        kafkaProperties = KafkaClientConfiguration.properties(fromEnvironment: environment)
        httpHost = env.string("DX_HTTP_HOST", default: "127.0.0.1")
        httpPort = try env.integer("DX_HTTP_PORT", default: defaultPort, range: 0...65535)
        logLevel = try env.choice("DX_LOG_LEVEL", default: "info", among: ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try env.choice("DX_LOG_FORMAT", default: "text", among: ["text", "json"])
        topicPartitions = try env.integer("DX_TOPIC_PARTITIONS", default: 6, range: 1...1000)
        topics = TopicNames(prefix: env.string("DX_TOPIC_PREFIX", default: ""))
        consumerGroup = env.string("DX_CONSUMER_GROUP", default: topics.prefix + service)
        self.environment = environment
    }

    public func kafkaClient(clientID: String? = nil) -> KafkaClientConfiguration {
        KafkaClientConfiguration(bootstrapServers: kafkaBrokers, clientID: clientID ?? serviceName, properties: kafkaProperties)
    }

    /// The topics of the pipeline with this configuration's partition count.
    public var topicSpecifications: [KafkaAdmin.TopicSpecification] {
        topics.all.map { KafkaAdmin.TopicSpecification(name: $0, partitions: topicPartitions) }
    }
}

/// Typed access to environment variables with errors that say which variable and why.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    public func string(_ name: String, default value: String) -> String {
        values[name].flatMap { $0.isEmpty ? nil : $0 } ?? value
    }

    public func optional(_ name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    public func required(_ name: String) throws -> String {
        guard let value = optional(name) else { throw ConfigurationError(variable: name, reason: "is not set") }
        return value
    }

    public func integer(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = optional(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError(variable: name, reason: "'\(text)' is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    public func duration(_ name: String, defaultSeconds: Double) throws -> Duration {
        guard let text = optional(name) else { return .milliseconds(Int64(defaultSeconds * 1000)) }
        guard let seconds = Double(text), seconds >= 0, seconds.isFinite else {
            throw ConfigurationError(variable: name, reason: "'\(text)' is not a number of seconds")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    public func choice(_ name: String, default value: String, among choices: [String]) throws -> String {
        let text = string(name, default: value).lowercased()
        guard choices.contains(text) else {
            throw ConfigurationError(variable: name, reason: "'\(text)' is not one of \(choices.joined(separator: ", "))")
        }
        return text
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var variable: String
    public var reason: String
    public var description: String { "\(variable) \(reason)" }
}
