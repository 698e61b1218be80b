import DXKafka
import DXModel
import DXRuntime
import DXStore
import Foundation

/// dx-alerts: consumes `dx.indicator-values.v1`, evaluates the alert rules, keeps each alert's
/// lifecycle in the `alerting` schema and publishes transitions to `dx.alerts.v1`.
public enum AlertingService {
    public static let name = "dx-alerts"
    public static let defaultPort = 8082

    public static func plan(_ context: ServiceContext) async throws -> ServicePlan {
        let catalog = try await ServiceHost.loadCatalog(context)
        let configuration = context.configuration
        let handler = AlertHandler(catalog: catalog, source: name, topics: configuration.topics, logger: context.logger)
        let consumer = TransactionalConsumer(
            name: configuration.consumerGroup, schema: "alerting",
            configuration: KafkaConsumerConfiguration(client: configuration.kafkaClient(), groupID: configuration.consumerGroup, topics: [configuration.topics.indicatorValues]),
            deadLetterTopic: configuration.topics.deadLetters, database: context.database, handler: handler, logger: context.logger
        )
        let producer = try KafkaProducer(configuration: .init(client: configuration.kafkaClient()), logger: context.logger)
        let relay = OutboxRelay(outbox: Outbox(schema: "alerting"), database: context.database, producer: producer, logger: context.logger)
        return ServicePlan(
            services: [producer, relay, consumer],
            readiness: [ReadinessCheck(name: "kafka") { try await producer.checkConnection() }]
        )
    }
}
