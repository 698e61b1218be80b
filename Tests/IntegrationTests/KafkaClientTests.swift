import DXKafka
import Foundation
import Synchronization
import Testing

/// Our librdkafka wrapper against a real Kafka-protocol broker (Tansu).
@Suite("Kafka client against Tansu")
struct KafkaClientTests {
    @Test("librdkafka is new enough to talk to Tansu")
    func librdkafkaVersion() {
        #expect(Librdkafka.isSupported, "linked librdkafka \(Librdkafka.version) is below 2.2")
    }

    @Test("produced messages arrive once each, in order per key, with delivery reports")
    func produceAndConsume() async throws {
        let brokers = try TestEnvironment.kafkaBrokers
        let logger = TestEnvironment.logger("kafka-test")
        let topic = TestEnvironment.uniqueName("dx.test.roundtrip")
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers, clientID: "test-admin"), logger: logger)
        let created = try await admin.ensureTopics([.init(name: topic, partitions: 3)])
        #expect(created == [topic])
        // A second ensure is a no-op, not an error.
        #expect(try await admin.ensureTopics([.init(name: topic, partitions: 3)]).isEmpty)

        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-producer")), logger: logger)
        let messages = (0..<300).map { i in
            KafkaOutgoingMessage(topic: topic, key: "province-\(i % 7)", value: Array("message \(i)".utf8))
        }
        let reports = await producer.send(messages)
        #expect(reports.count == 300)
        #expect(reports.allSatisfy { $0.error == nil && $0.offset >= 0 })
        // Same key, same partition.
        let partitionsByKey = Dictionary(grouping: zip(messages, reports), by: { String(decoding: $0.0.key, as: UTF8.self) })
            .mapValues { Set($0.map(\.1.partition)) }
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 })
        await producer.shutdown()

        let consumer = try KafkaConsumer(
            configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-consumer"), groupID: TestEnvironment.uniqueName("g"), topics: [topic]),
            rebalanceHandler: NoStoredOffsets(),
            logger: logger
        )
        var received: [String] = []
        var perKey: [String: [Int]] = [:]
        for await batch in consumer.batches {
            for message in batch {
                let text = String(decoding: message.value, as: UTF8.self)
                received.append(text)
                let i = Int(text.split(separator: " ")[1])!
                perKey[String(decoding: message.key ?? [], as: UTF8.self), default: []].append(i)
            }
            if received.count >= 300 { break }
        }
        consumer.stop()
        await consumer.close()
        #expect(received.count == 300)
        #expect(Set(received).count == 300)
        #expect(perKey.values.allSatisfy { $0 == $0.sorted() })
    }

    @Test("a new assignment starts at the offsets the rebalance handler returns")
    func seekToStoredOffsets() async throws {
        let brokers = try TestEnvironment.kafkaBrokers
        let logger = TestEnvironment.logger("kafka-test")
        let topic = TestEnvironment.uniqueName("dx.test.seek")
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers, clientID: "test-admin"), logger: logger)
        try await admin.ensureTopics([.init(name: topic, partitions: 1)])
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-producer")), logger: logger)
        let reports = await producer.send((0..<20).map { KafkaOutgoingMessage(topic: topic, key: "k", value: Array("\($0)".utf8)) })
        #expect(reports.allSatisfy { $0.error == nil })
        await producer.shutdown()

        let handler = FixedOffsets(offsets: [KafkaTopicPartition(topic: topic, partition: 0): 15])
        let consumer = try KafkaConsumer(
            configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-consumer"), groupID: TestEnvironment.uniqueName("g"), topics: [topic]),
            rebalanceHandler: handler,
            logger: logger
        )
        var values: [String] = []
        for await batch in consumer.batches {
            values += batch.map { String(decoding: $0.value, as: UTF8.self) }
            if values.count >= 5 { break }
        }
        consumer.stop()
        await consumer.close()
        #expect(values == ["15", "16", "17", "18", "19"])
        #expect(handler.assignedCount() >= 1)
        #expect(handler.revokedCount() >= 1, "closing the consumer revokes its partitions through the handler")
    }
}

struct NoStoredOffsets: KafkaRebalanceHandler {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] { [:] }
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
}

final class FixedOffsets: KafkaRebalanceHandler {
    let offsets: [KafkaTopicPartition: Int64]
    private let counts = Mutex((assigned: 0, revoked: 0))

    init(offsets: [KafkaTopicPartition: Int64]) {
        self.offsets = offsets
    }

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
        counts.withLock { $0.assigned += 1 }
        return offsets
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {
        counts.withLock { $0.revoked += 1 }
    }

    func assignedCount() -> Int { counts.withLock { $0.assigned } }
    func revokedCount() -> Int { counts.withLock { $0.revoked } }
}
