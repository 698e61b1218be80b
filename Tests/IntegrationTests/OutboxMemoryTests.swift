import DXKafka
import DXModel
import DXStore
import Foundation
import PostgresNIO
import Testing

/// The relay publishing payloads its process committed from memory (`OutboxMemory`), against a
/// real PostgreSQL outbox and Tansu: what reaches the topic must be what a relay that reads every
/// row would publish.
@Suite("Outbox relay: payloads kept in memory")
struct OutboxMemoryTests {
    @Test("rows with and without a kept payload are published once each, in row order, byte for byte; kept ones leave memory")
    func publishesKeptAndStoredPayloads() async throws {
        let db = try await TestDatabase.create("outboxmem")
        let brokers = try TestEnvironment.kafkaBrokers
        let logger = TestEnvironment.logger("outbox-memory")
        let topic = TestEnvironment.uniqueName("dx.test.outbox-memory")
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: brokers, clientID: "test-admin"), logger: logger)
        try await admin.ensureTopics([.init(name: topic, partitions: 1)])

        // 1,200 messages in three transactions; only the second's payloads are kept, as if the
        // first had been committed before a restart and the third by another replica.
        let messages = (0..<1_200).map { i in
            OutboxMessage(id: UUID(), topic: topic, key: "VN", payload: Array("{\"n\":\(i),\"text\":\"Xã Đa Krông \(i)\"}".utf8))
        }
        let batches = [Array(messages[0..<400]), Array(messages[400..<800]), Array(messages[800...])]
        let memory = OutboxMemory()
        let outbox = Outbox(schema: "engine")
        try await db.withAdmin { database in
            for batch in batches {
                try await database.withTransaction { connection in
                    try await outbox.enqueue(batch, on: connection, logger: logger)
                }
            }
        }
        memory.keep(batches[1])
        #expect(memory.keptBytes == batches[1].reduce(0) { $0 + $1.payload.count })

        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-relay")), logger: logger)
        try await db.withAdmin { database in
            let relay = OutboxRelay(outbox: outbox, memory: memory, database: database, producer: producer, logger: logger)
            var published = 0
            while published < messages.count {
                let (attempted, failed) = try await relay.publishBatch()
                #expect(failed == 0)
                guard attempted > 0 else { break }
                published += attempted
            }
            #expect(published == messages.count)
            let unsent = try await database.query("SELECT count(*) FROM engine.outbox WHERE published_at IS NULL").decode(Int.self)
            for try await count in unsent { #expect(count == 0) }
        }
        await producer.shutdown()
        #expect(memory.keptBytes == 0, "every kept payload was taken by the relay")

        let consumer = try KafkaConsumer(
            configuration: .init(client: .init(bootstrapServers: brokers, clientID: "test-consumer"), groupID: TestEnvironment.uniqueName("g"), topics: [topic]),
            rebalanceHandler: NoStoredOffsets(), logger: logger
        )
        var received: [[UInt8]] = []
        for await batch in consumer.batches {
            received += batch.map(\.value)
            if received.count >= messages.count { break }
        }
        consumer.stop()
        await consumer.close()
        #expect(received.count == messages.count)
        #expect(received == messages.map(\.payload), "the topic holds every payload once, in the order the rows were written")
    }

    @Test("a payload past the limit or the lifetime is dropped from memory, and the relay reads it from its row")
    func evictsByLimitAndAge() async throws {
        let payload = Array(repeating: UInt8(ascii: "x"), count: 1_000)
        let bounded = OutboxMemory(byteLimit: 2_500)
        let three = (0..<3).map { _ in OutboxMessage(id: UUID(), topic: "t", key: "k", payload: payload) }
        bounded.keep(three)
        #expect(bounded.keptBytes == 2_000, "the oldest went first")
        #expect(Set(bounded.take(three.map(\.id)).keys) == Set(three[1...].map(\.id)))

        let brief = OutboxMemory(lifetime: .milliseconds(50))
        let old = OutboxMessage(id: UUID(), topic: "t", key: "k", payload: payload)
        brief.keep([old])
        try await Task.sleep(for: .milliseconds(120))
        let new = OutboxMessage(id: UUID(), topic: "t", key: "k", payload: payload)
        brief.keep([new])
        let taken = brief.take([old.id, new.id])
        #expect(taken[old.id] == nil && taken[new.id] == payload)
        #expect(brief.keptBytes == 0)
    }
}
