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

    /// A topic of the test's own holding `count` messages "0", "1", …; `key` gives each one's key.
    /// Returns each message's key and value with where it went.
    func topic(_ prefix: String, partitions: Int, count: Int, key: (Int) -> String) async throws
        -> (name: String, sent: [(key: [UInt8], value: String, partition: Int32, offset: Int64)]) {
        let brokers = try TestEnvironment.kafkaBrokers
        let logger = TestEnvironment.logger("kafka-test")
        let topic = TestEnvironment.uniqueName(prefix)
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers, clientID: "test-admin"), logger: logger)
        try await admin.ensureTopics([.init(name: topic, partitions: partitions)])
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-producer")), logger: logger)
        let messages = (0..<count).map { KafkaOutgoingMessage(topic: topic, key: key($0), value: Array("\($0)".utf8)) }
        let reports = await producer.send(messages)
        await producer.shutdown()
        try #require(reports.allSatisfy { $0.error == nil })
        return (topic, zip(messages, reports).map { ($0.0.key, String(decoding: $0.0.value, as: UTF8.self), $0.1.partition, $0.1.offset) })
    }

    /// The values a consumer in a new group reads from `topic`, starting where `handler` says,
    /// until `enough` says so, or a minute has passed (a consumer waiting at a wrong offset would
    /// wait for ever). `enough` may produce more messages.
    func read(_ topic: String, handler: some KafkaRebalanceHandler, until enough: ([String]) async throws -> Bool) async throws -> [String] {
        let consumer = try KafkaConsumer(
            configuration: .init(client: .init(bootstrapServers: try TestEnvironment.kafkaBrokers, clientID: "test-consumer"),
                                 groupID: TestEnvironment.uniqueName("g"), topics: [topic]),
            rebalanceHandler: handler,
            logger: TestEnvironment.logger("kafka-test")
        )
        let giveUp = Task {
            try await Task.sleep(for: .seconds(60))
            consumer.stop()
        }
        var values: [String] = []
        for await batch in consumer.batches {
            values += batch.map { String(decoding: $0.value, as: UTF8.self) }
            if try await enough(values) { break }
        }
        giveUp.cancel()
        consumer.stop()
        await consumer.close()
        return values
    }

    @Test("a new assignment starts at the offsets the rebalance handler returns")
    func seekToStoredOffsets() async throws {
        let topic = try await topic("dx.test.seek", partitions: 1, count: 20) { _ in "k" }
        let handler = FixedOffsets(offsets: [KafkaTopicPartition(topic: topic.name, partition: 0): 15])
        let values = try await read(topic.name, handler: handler) { $0.count >= 5 }
        #expect(values == ["15", "16", "17", "18", "19"])
        #expect(handler.assignedCount() >= 1)
        #expect(handler.revokedCount() >= 1, "closing the consumer revokes its partitions through the handler")
    }

    @Test("a stored offset past the end of the broker's log (the broker lost its data) starts at the log's beginning; one at the end stays there")
    func storedOffsetPastTheLogEnd() async throws {
        let topic = try await topic("dx.test.lost", partitions: 2, count: 40) { "k\($0)" }
        let inLost = topic.sent.filter { $0.partition == 0 }
        let inCaughtUp = topic.sent.filter { $0.partition == 1 }
        try #require(!inLost.isEmpty && !inCaughtUp.isEmpty, "the keys spread over both partitions")

        // Partition 0 as after a broker that kept its log in memory restarted: PostgreSQL
        // remembers a position far past what the new log holds. Partition 1 was read to its end.
        let handler = FixedOffsets(offsets: [KafkaTopicPartition(topic: topic.name, partition: 0): 1_000,
                                             KafkaTopicPartition(topic: topic.name, partition: 1): inCaughtUp.map(\.offset).max()! + 1])
        // Once the old messages are in, one more to each partition, produced after the assignment.
        let late = [KafkaOutgoingMessage(topic: topic.name, key: inLost[0].key, value: Array("late-0".utf8)),
                    KafkaOutgoingMessage(topic: topic.name, key: inCaughtUp[0].key, value: Array("late-1".utf8))]
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: try TestEnvironment.kafkaBrokers, clientID: "test-producer")),
                                         logger: TestEnvironment.logger("kafka-test"))
        var sentLate = false
        let values = try await read(topic.name, handler: handler) { values in
            if values.count >= inLost.count && !sentLate {
                sentLate = true
                #expect(await producer.send(late).allSatisfy { $0.error == nil })
            }
            return values.count >= inLost.count + 2
        }
        await producer.shutdown()
        #expect(values.count == inLost.count + 2, "each message once: \(values)")
        #expect(Set(values) == Set(inLost.map(\.value) + ["late-0", "late-1"]),
                "partition 0 read from its beginning, partition 1 only past its stored offset")
    }

    @Test("a partition starts at its stored offset only when the message before it is the one applied last; in a log made anew it starts at the beginning")
    func storedOffsetInAnotherLog() async throws {
        let topic = try await topic("dx.test.anew", partitions: 1, count: 10) { _ in "k" }
        let partition = KafkaTopicPartition(topic: topic.name, partition: 0)
        // The log the offset was stored from: offset 4 holds "4", the message applied last.
        let same = try await read(topic.name, handler: FixedOffsets(offsets: [partition: 5], lastValues: [partition: "4"])) { $0.count >= 5 }
        #expect(same == ["5", "6", "7", "8", "9"], "the recognised message is not handed out again, and reading goes on after it")
        // As after a broker that lost its data and whose new log grew past the stored offset:
        // offset 4 holds another message than the one applied last.
        let anew = try await read(topic.name, handler: FixedOffsets(offsets: [partition: 5], lastValues: [partition: "4 of the old log"])) { $0.count >= 10 }
        #expect(anew == (0..<10).map(String.init))
    }
}

struct NoStoredOffsets: KafkaRebalanceHandler {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] { [:] }
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
}

final class FixedOffsets: KafkaRebalanceHandler {
    let offsets: [KafkaTopicPartition: Int64]
    /// The value of the message just before a stored offset, where the test says it.
    let lastValues: [KafkaTopicPartition: String]
    private let counts = Mutex((assigned: 0, revoked: 0))

    init(offsets: [KafkaTopicPartition: Int64], lastValues: [KafkaTopicPartition: String] = [:]) {
        self.offsets = offsets
        self.lastValues = lastValues
    }

    func lastApplied(before stored: [KafkaTopicPartition: Int64]) async throws -> [KafkaTopicPartition: KafkaMessageRecognizer] {
        lastValues.mapValues { value in { message in String(decoding: message.value, as: UTF8.self) == value } }
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
