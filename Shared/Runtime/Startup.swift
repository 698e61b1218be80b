import DXKafka
import DXStore
import Foundation
import Logging

/// What every service does first: log who it is and which librdkafka it runs on, refuse an
/// unsupported one, and create the pipeline's topics if they are missing.
public enum Startup {
    public static func announce(_ configuration: ServiceConfiguration, logger: Logger) throws {
        logger.info("starting", metadata: [
            "service": "\(configuration.serviceName)",
            "librdkafka": "\(Librdkafka.version)",
            "postgres": "\(configuration.database)",
            "kafka": "\(configuration.kafkaBrokers)",
            "http": "\(configuration.httpHost):\(configuration.httpPort)",
        ])
        try Librdkafka.requireSupportedVersion()
    }

    /// Creates missing topics, retrying while the brokers are not up yet.
    public static func ensureTopics(_ configuration: ServiceConfiguration, logger: Logger, attempts: Int = 30) async throws {
        let admin = try KafkaAdmin(configuration: configuration.kafkaClient(clientID: "\(configuration.serviceName)-admin"), logger: logger)
        var attempt = 0
        while true {
            do {
                let created = try await admin.ensureTopics(configuration.topicSpecifications)
                if !created.isEmpty { logger.info("created topics", metadata: ["topics": "\(created.joined(separator: ", "))"]) }
                return
            } catch {
                attempt += 1
                if attempt >= attempts { throw error }
                logger.warning("cannot create topics yet (\(error)); retrying")
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}

/// Exits with a clear message when a service cannot start.
public func exitWithStartupError(_ error: any Error, service: String) -> Never {
    FileHandle.standardError.write(Data("\(service): cannot start: \(error)\n".utf8))
    exit(1)
}
