import DXKafka
import DXModel
import DXStore
import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// What a service gets to build itself with.
public struct ServiceContext: Sendable {
    public var configuration: ServiceConfiguration
    public var logger: Logger
    public var database: Database
    public var registry: PrometheusCollectorRegistry?
}

/// What a service runs: its long-running parts, in start order (they stop in reverse), what
/// `/ready` checks besides PostgreSQL, and its own HTTP routes.
public struct ServicePlan: Sendable {
    public var services: [any Service]
    public var readiness: [ReadinessCheck]
    public var routes: @Sendable (Router<BasicRequestContext>) -> Void

    public init(services: [any Service], readiness: [ReadinessCheck] = [], routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void = { _ in }) {
        self.services = services
        self.readiness = readiness
        self.routes = routes
    }
}

/// Runs a service process from start to graceful shutdown: configuration from the environment,
/// logging, metrics, the librdkafka check, PostgreSQL, the topics, then the service group with
/// the HTTP server (its routes plus `/health`, `/ready`, `/metrics`). SIGTERM or SIGINT stops the
/// HTTP server first, then each part in reverse order, and PostgreSQL last.
public enum ServiceHost {
    /// `allocator`: what the process's allocator does with memory freed between batches (see
    /// `AllocatorPolicy`); set before anything else allocates much.
    public static func main(service: String, defaultPort: Int, allocator: AllocatorPolicy = .systemDefault,
                            plan: @escaping @Sendable (ServiceContext) async throws -> ServicePlan) async {
        let configuration: ServiceConfiguration
        do {
            configuration = try ServiceConfiguration(service: service, defaultPort: defaultPort)
        } catch {
            exitWithStartupError(error, service: service)
        }
        LoggingSetup.bootstrap(level: configuration.logLevel, format: configuration.logFormat)
        let registry = MetricsSetup.bootstrap()
        let logger = Logger(label: service)
        allocator.apply(environment: ProcessInfo.processInfo.environment, logger: logger)
        do {
            try await run(configuration: configuration, registry: registry, logger: logger, plan: plan)
        } catch {
            logger.critical("stopped: \(error)")
            exitWithStartupError(error, service: service)
        }
    }

    public static func run(configuration: ServiceConfiguration, registry: PrometheusCollectorRegistry?, logger: Logger,
                           plan: @escaping @Sendable (ServiceContext) async throws -> ServicePlan) async throws {
        try Startup.announce(configuration, logger: logger)
        let database = Database(configuration: configuration.database, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            try await waitForDatabase(database, logger: logger)
            try await Startup.ensureTopics(configuration, logger: logger)
            let context = ServiceContext(configuration: configuration, logger: logger, database: database, registry: registry)
            let servicePlan = try await plan(context)

            let router = Router()
            let checks = [ReadinessCheck(name: "postgres") { try await database.ping() }] + servicePlan.readiness
            OperationsRoutes.add(to: router, service: configuration.serviceName, checks: checks, registry: registry)
            servicePlan.routes(router)
            let app = Application(
                router: router,
                configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: configuration.serviceName),
                services: servicePlan.services,
                logger: logger
            )
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            logger.info("stopped")
            group.cancelAll()
        }
    }

    /// PostgreSQL may come up after us (compose, a restart): wait for it, then go.
    static func waitForDatabase(_ database: Database, logger: Logger, attempts: Int = 60) async throws {
        var attempt = 0
        while true {
            do {
                try await database.ping()
                return
            } catch {
                attempt += 1
                if attempt >= attempts {
                    throw StoreError.configuration("PostgreSQL at \(database.configuration) does not answer: \(error.postgresDescription)")
                }
                logger.warning("PostgreSQL not reachable yet (\(error.postgresDescription)); retrying")
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Reads the catalog, waiting for `dx catalog load` if the schema is still empty.
    public static func loadCatalog(_ context: ServiceContext, attempts: Int = 60) async throws -> Catalog {
        let repository = CatalogRepository(database: context.database, logger: context.logger)
        var attempt = 0
        while true {
            do {
                let catalog = try await repository.read()
                context.logger.info("catalog loaded", metadata: [
                    "units": "\(catalog.units.count)", "elements": "\(catalog.elements.count)", "indicators": "\(catalog.indicators.count)",
                ])
                return catalog
            } catch {
                attempt += 1
                if attempt >= attempts { throw error }
                context.logger.warning("catalog not readable yet (\(error.postgresDescription)); run `dx migrate` and `dx catalog load`")
                try await Task.sleep(for: .seconds(2))
            }
        }
    }
}
