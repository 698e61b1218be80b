import DXKafka
import DXModel
import DXRuntime
import DXStore
import Foundation

/// dx-alerts: consumes `dx.indicator-values.v1`, judges every value by the rules of
/// catalog.alert_rules, keeps each alert's lifecycle in the `alerting` schema, and publishes
/// every transition to `dx.alerts.v1` (through its outbox) and to the configured webhooks.
/// Long-running parts, each a Service: the consumer, the missing-report timer, the operator
/// actions (acknowledgements, silences, expiries), the webhook dispatcher and the outbox relay.
public enum AlertingService {
    public static let name = "dx-alerts"
    public static let defaultPort = 8082

    public static func plan(_ context: ServiceContext) async throws -> ServicePlan {
        let catalog = try await ServiceHost.loadCatalog(context)
        let configuration = context.configuration
        let environment = EnvironmentReader(configuration.environment)
        let rules = try await CatalogRepository(database: context.database, logger: context.logger).readAlertRules()
        let routes = try webhookRoutes(environment: environment, catalog: catalog)
        context.logger.info("alert rules loaded", metadata: [
            "rules": "\(rules.map(\.code).joined(separator: ","))", "webhooks": "\(routes.map(\.name).joined(separator: ","))",
        ])
        if rules.isEmpty { context.logger.warning("catalog.alert_rules is empty: no alert will fire (run `dx catalog load`)") }
        let clock = SystemAlertClock()
        let store = AlertStore(catalog: catalog, routes: routes, topics: configuration.topics, source: name, logger: context.logger)
        let pollInterval = try environment.duration("DX_ALERTS_POLL_INTERVAL", defaultSeconds: 5)

        let handler = AlertHandler(catalog: catalog, rules: rules, store: store, clock: clock, logger: context.logger)
        var consumerConfiguration = KafkaConsumerConfiguration(
            client: configuration.kafkaClient(), groupID: configuration.consumerGroup, topics: [configuration.topics.indicatorValues]
        )
        consumerConfiguration.maximumBatchSize = try environment.integer("DX_CONSUMER_BATCH_SIZE", default: 100, range: 1...100_000)
        let consumer = TransactionalConsumer(
            name: configuration.consumerGroup, schema: "alerting", configuration: consumerConfiguration,
            deadLetterTopic: configuration.topics.deadLetters, database: context.database, handler: handler, logger: context.logger
        )
        let timer = MissingReportTimer(
            rules: rules, catalog: catalog, store: store, database: context.database, clock: clock,
            interval: try environment.duration("DX_ALERTS_TIMER_INTERVAL", defaultSeconds: 60), logger: context.logger
        )
        let operations = AlertOperations(catalog: catalog, store: store, database: context.database, clock: clock, pollInterval: pollInterval,
                                         logger: context.logger)
        let dispatcher = WebhookDispatcher(routes: routes, catalog: catalog, database: context.database, clock: clock, pollInterval: pollInterval,
                                           logger: context.logger)
        // Rows a crash left unmarked but already published are marked now, so they go out once.
        do {
            try await OutboxRecovery.reconcile(schema: "alerting", database: context.database, client: configuration.kafkaClient(), logger: context.logger)
        } catch {
            context.logger.warning("outbox recovery failed; unsent rows go out as they are", metadata: ["error": "\(error.postgresDescription)"])
        }
        let producer = try KafkaProducer(configuration: .init(client: configuration.kafkaClient()), logger: context.logger)
        let relay = OutboxRelay(outbox: Outbox(schema: "alerting"), database: context.database, producer: producer, logger: context.logger)
        return ServicePlan(
            services: [producer, relay, consumer, operations, timer, dispatcher],
            readiness: [ReadinessCheck(name: "kafka") { try await producer.checkConnection() }]
        )
    }

    /// `DX_WEBHOOKS_FILE`: the receivers, checked against the catalog. A bad file stops the start
    /// with the reason; no file means no webhooks.
    static func webhookRoutes(environment: EnvironmentReader, catalog: Catalog) throws -> [WebhookRoute] {
        guard let path = environment.optional("DX_WEBHOOKS_FILE") else { return [] }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw WebhookFileError(description: "DX_WEBHOOKS_FILE '\(path)' cannot be read")
        }
        do {
            return try WebhookConfiguration.parse(text, catalog: catalog)
        } catch {
            throw WebhookFileError(description: "DX_WEBHOOKS_FILE '\(path)': \(error.description)")
        }
    }
}

/// A webhooks file that cannot be used: dx-alerts does not start, and says why.
struct WebhookFileError: Error, CustomStringConvertible {
    var description: String
}
