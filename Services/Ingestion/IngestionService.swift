import DXKafka
import DXModel
import DXRuntime
import DXStore
import Foundation

/// dx-ingest: the reporting API. Validates and authorises reports and dossier events, commits
/// them with an outbox row, and relays the outbox to `dx.observations.v1`.
public enum IngestionService {
    public static let name = "dx-ingest"
    public static let defaultPort = 8080

    public static func plan(_ context: ServiceContext) async throws -> ServicePlan {
        let catalog = try await ServiceHost.loadCatalog(context)
        let configuration = context.configuration
        let environment = EnvironmentReader(configuration.environment)
        var limits = IngestionLimits()
        limits.maximumBodyBytes = try environment.integer("DX_MAX_BODY_BYTES", default: limits.maximumBodyBytes, range: 1024...1_073_741_824)
        limits.maximumRows = try environment.integer("DX_MAX_ROWS", default: limits.maximumRows, range: 1...10_000_000)
        limits.ratePerMinute = try environment.integer("DX_RATE_LIMIT_PER_MINUTE", default: limits.ratePerMinute, range: 0...100_000_000)
        limits.rateBurst = try environment.integer("DX_RATE_BURST", default: limits.rateBurst, range: 1...1_000_000)

        let producer = try KafkaProducer(configuration: .init(client: configuration.kafkaClient()), logger: context.logger)
        let relay = OutboxRelay(outbox: Outbox(schema: "ingest"), database: context.database, producer: producer, logger: context.logger)
        let routes = IngestRoutes(
            reports: ReportStore(database: context.database, catalog: catalog, logger: context.logger, source: name, topics: configuration.topics),
            events: EventStore(database: context.database, logger: context.logger, source: name, topics: configuration.topics),
            tokens: TokenStore(database: context.database, logger: context.logger),
            catalog: catalog, limits: limits, logger: context.logger
        )
        context.logger.info("limits", metadata: [
            "maxBodyBytes": "\(limits.maximumBodyBytes)", "maxRows": "\(limits.maximumRows)",
            "ratePerMinute": "\(limits.ratePerMinute)", "rateBurst": "\(limits.rateBurst)",
        ])
        return ServicePlan(
            services: [producer, relay],
            readiness: [ReadinessCheck(name: "kafka") { try await producer.checkConnection() }],
            routes: { router in routes.add(to: router) }
        )
    }
}
