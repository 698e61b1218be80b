import DXKafka
import DXModel
import DXRuntime
import DXStore
import Foundation

/// dx-indicators: consumes `dx.observations.v1`, maintains aggregates and indicator values in
/// the `engine` schema, publishes changed values to `dx.indicator-values.v1`.
public enum IndicatorsService {
    /// Messages applied in one transaction at most (`DX_CONSUMER_BATCH_SIZE`). Large: a batch
    /// computes each province's and the country's cells, writes their rows and commits once,
    /// however many reports it holds, so a backlog (a national load) is applied faster in larger
    /// batches. 12,000 monthly reports are more than a quarter's of every commune, so a commune's
    /// quarter and year rows are rewritten about once per batch, not once per month. A steady
    /// stream makes small batches of what is ready anyway.
    public static let defaultBatchSize = 12_000

    public static let name = "dx-indicators"
    public static let defaultPort = 8081

    public static func plan(_ context: ServiceContext) async throws -> ServicePlan {
        let catalog = try await ServiceHost.loadCatalog(context)
        let configuration = context.configuration
        let environment = EnvironmentReader(configuration.environment)
        // The relay publishes what the handler committed from memory, not read back from the outbox.
        let outboxMemory = OutboxMemory()
        let handler = EngineHandler(
            catalog: catalog, source: name, topics: configuration.topics,
            writeChunkCells: try environment.integer("DX_ENGINE_WRITE_CHUNK_CELLS", default: EngineHandler.defaultWriteChunkCells, range: 1...10_000_000),
            outboxMemory: outboxMemory, logger: context.logger
        )
        var consumerConfiguration = KafkaConsumerConfiguration(
            client: configuration.kafkaClient(), groupID: configuration.consumerGroup, topics: [configuration.topics.observations]
        )
        consumerConfiguration.maximumBatchSize = try environment.integer("DX_CONSUMER_BATCH_SIZE", default: defaultBatchSize, range: 1...100_000)
        let consumer = TransactionalConsumer(
            name: configuration.consumerGroup, schema: "engine", configuration: consumerConfiguration,
            deadLetterTopic: configuration.topics.deadLetters, database: context.database, handler: handler,
            decodingTasks: ProcessInfo.processInfo.activeProcessorCount, logger: context.logger
        )
        let producer = try KafkaProducer(configuration: .init(client: configuration.kafkaClient()), logger: context.logger)
        let relay = OutboxRelay(outbox: Outbox(schema: "engine"), memory: outboxMemory, database: context.database, producer: producer,
                                logger: context.logger)
        return ServicePlan(
            services: [producer, relay, consumer],
            readiness: [ReadinessCheck(name: "kafka") { try await producer.checkConnection() }]
        )
    }
}
