import DXKafka
import DXModel
import Foundation
import Testing

/// A message a consumer cannot use goes to `dx.deadletter.v1` with where it was and why, and the
/// consumer goes on: nothing else of its batch is lost, and no message stops the service.
@Suite("Dead letters")
struct DeadLetterTests {
    @Test("a batch of 120 observation messages with three dx-indicators cannot use (not JSON, another schema, a unit not in the catalog): those three are dead-lettered with their offsets and reasons, the other 117 applied once in a handful of transactions, and dx-indicators keeps running")
    func poisonMessagesInALargeBatch() async throws {
        // dx-indicators starts once the messages are there, so it reads them as one large batch
        // (decoded in slices).
        try await withPipeline("deadletter", services: []) { pipeline in
            let catalog = TestDatabase.catalogFiles.catalog
            let logger = TestEnvironment.logger("dead-letter-test")
            let admin = try KafkaAdmin(configuration: .init(bootstrapServers: pipeline.brokers, clientID: "dead-letter-test"), logger: logger)
            _ = try await admin.ensureTopics([.init(name: pipeline.topics.observations, partitions: 3), .init(name: pipeline.topics.deadLetters, partitions: 3)])
            let deadLetters = try TopicReader(topic: pipeline.topics.deadLetters, brokers: pipeline.brokers)

            let communes = catalog.units.units.values.filter { $0.tree == .current && $0.level == .commune }.map(\.code).sorted()
            let month = Period.month(2026, 3)
            /// One dossier received at `unit` in March 2026, as dx-ingest would publish it.
            func message(_ unit: UnitCode, province: UnitCode? = nil, schema: String = ObservationBatch.schema, sequence: Int) throws -> [UInt8] {
                let batch = ObservationBatch(province: province ?? catalog.units.province(of: unit) ?? unit, origin: .events, sequence: Int64(sequence),
                                             observations: [Observation(unit: unit, period: month, element: "dossiers_received_total", delta: 1)])
                return try MessageCoding.encode(Envelope(schema: schema, source: "dead-letter-test", data: batch))
            }
            let notJSON = 17, otherSchema = 64, unknownUnit = 101
            var values: [[UInt8]] = []
            for index in 0..<120 {
                switch index {
                case notJSON: values.append(Array("not json {".utf8))
                case otherSchema: values.append(try message(communes[0], schema: "dx.something-else.v1", sequence: index))
                case unknownUnit: values.append(try message("99999", province: "01", sequence: index))
                default: values.append(try message(communes[index * 37 % communes.count], sequence: index))
                }
            }
            // One key: one partition, in this order.
            let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: pipeline.brokers, clientID: "dead-letter-test")), logger: logger)
            let reports = await producer.send(values.map { KafkaOutgoingMessage(topic: pipeline.topics.observations, key: "01", value: $0) })
            await producer.shutdown()
            #expect(reports.count == 120 && reports.allSatisfy { $0.error == nil })

            try await pipeline.start([Pipeline.indicators])
            let letters = try await deadLetters.wait(for: "three dead letters") { $0.count >= 3 }
            let decoded = try letters.map { try MessageCoding.decode(Envelope<DeadLetter>.self, from: $0.value).data }.sorted { $0.offset < $1.offset }
            #expect(decoded.map(\.offset) == [notJSON, otherSchema, unknownUnit].map { reports[$0].offset })
            #expect(decoded.allSatisfy { $0.topic == pipeline.topics.observations && $0.partition == reports[0].partition })
            #expect(decoded.count == 3)
            if decoded.count == 3 {
                #expect(decoded[0].error.contains("cannot decode"), "\(decoded[0].error)")
                #expect(decoded[0].payload == "not json {")
                #expect(decoded[1].error.contains("dx.something-else.v1"), "\(decoded[1].error)")
                #expect(decoded[2].error.contains("99999") && decoded[2].error.contains("not in the catalog"), "\(decoded[2].error)")
            }

            // The other 117 are applied, each once: one dossier each at the country.
            let total = "SELECT coalesce(sum(value), 0)::int FROM reporting.cell_values WHERE unit_code = 'VN' AND period = '2026-03' AND element_code = 'dossiers_received_total'"
            let deadline = ContinuousClock.now + .seconds(90)
            while try await count(pipeline, total) < 117 {
                guard ContinuousClock.now < deadline else { throw TestFailure("the 117 valid messages were not applied") }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await count(pipeline, "SELECT count(*)::int FROM engine.processed_messages") == 117)
            #expect(try await count(pipeline, total) == 117)
            let metrics = try await pipeline.service(Pipeline.indicators).metrics()
            #expect(metrics.total("dx_consumer_dead_letters_total") == 3)
            // The batch that failed on the unknown unit was split in halves around it, not applied
            // message by message (which committed well over a hundred transactions).
            let commits = metrics.total("dx_consumer_phase_seconds_count", label: #"phase="commit""#)
            #expect(commits >= 2 && commits <= 20, "\(commits) transactions committed")
            try await pipeline.service(Pipeline.indicators).waitUntilReady(timeout: .seconds(10))
            await deadLetters.close()
        }
    }
}
