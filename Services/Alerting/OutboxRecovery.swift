import DXKafka
import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Makes "published once" hold across a crash. The relay marks an outbox row only after the
/// broker acknowledged it, so a crash between the two leaves rows that are on the topic but look
/// unsent, and the next relay would send them again. Before dx-alerts' relay starts, this reads
/// back the tail of each partition the unsent rows may have gone to (as many messages as there
/// are unsent rows, the most one crash can have left) and marks the rows whose message ids are
/// already there. It never marks a row it did not find: at worst a message goes out twice (the
/// subscriber's dedup by `id` covers that), never zero times.
enum OutboxRecovery {
    /// Marks unsent rows already on their topic; returns how many.
    @discardableResult
    static func reconcile(schema: String, database: Database, client: KafkaClientConfiguration, timeout: Duration = .seconds(20),
                          logger: Logger) async throws -> Int {
        var pending: [(UUID, String)] = []
        for try await row in try await database.query(PostgresQuery(unsafeSQL: """
            SELECT message_id, topic FROM \(schema).outbox WHERE published_at IS NULL ORDER BY id LIMIT 100000
            """)).decode((UUID, String).self) { pending.append(row) }
        guard !pending.isEmpty else { return 0 }
        let topics = Array(Set(pending.map(\.1))).sorted()
        let wanted = Set(pending.map(\.0))

        var configuration = KafkaConsumerConfiguration(client: client, groupID: "\(client.clientID)-recovery-\(UUID().uuidString.prefix(8))", topics: topics)
        configuration.startFromBeginning = false
        let tail = TailOffsets(count: Int64(pending.count))
        let consumer = try KafkaConsumer(configuration: configuration, rebalanceHandler: tail, logger: logger)
        var found = Set<UUID>()
        let deadline = ContinuousClock.now + timeout
        var complete = false
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // The consumer hands out nothing while the tail is empty: stop it at the deadline.
                try? await Task.sleep(until: deadline)
                consumer.stop()
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(200))
                    if tail.reachedEnd(consumer) {
                        consumer.stop()
                        return
                    }
                }
            }
            for await batch in consumer.batches {
                for message in batch {
                    if let header = try? MessageCoding.decode(EnvelopeHeader.self, from: message.value), wanted.contains(header.id) {
                        found.insert(header.id)
                    }
                }
            }
            complete = tail.reachedEnd(consumer)
            group.cancelAll()
        }
        await consumer.close()
        if !found.isEmpty {
            try await database.query(PostgresQuery(unsafeSQL: """
                UPDATE \(schema).outbox SET published_at = now(), last_error = 'found on the topic at start: published before a crash'
                WHERE published_at IS NULL AND message_id = ANY($1::uuid[])
                """, binds: {
                    var binds = PostgresBindings()
                    binds.append(Array(found), context: .default)
                    return binds
                }()))
        }
        if complete {
            logger.info("outbox recovery", metadata: ["unsent": "\(pending.count)", "already on the topic": "\(found.count)"])
        } else {
            logger.warning("outbox recovery could not read to the end of the topics in time; unsent rows not found may go out twice",
                           metadata: ["unsent": "\(pending.count)", "already on the topic": "\(found.count)"])
        }
        return found.count
    }
}

/// Starts each assigned partition `count` messages before its end, and tells when every assigned
/// partition has been read to the end (from the consumer's cached watermarks).
private final class TailOffsets: KafkaRebalanceHandler {
    private let count: Int64
    private let assigned = Mutex<Set<KafkaTopicPartition>>([])

    init(count: Int64) {
        self.count = count
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        assigned.withLock { $0.formUnion(partitions) }
        // librdkafka's logical offset "count messages before the end" (RD_KAFKA_OFFSET_TAIL).
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, -2000 - count) })
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}

    func reachedEnd(_ consumer: KafkaConsumer) -> Bool {
        let partitions = assigned.withLock { $0 }
        guard !partitions.isEmpty else { return false }
        let lag = consumer.lag()
        return partitions.allSatisfy { lag[$0] == 0 }
    }
}
