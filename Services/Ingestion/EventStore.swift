import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// What a client gets back for a batch of events.
struct EventReceipt: Codable, Sendable {
    var status: String
    /// Non-blank lines in the body.
    var lines: Int
    /// Events newly recorded and counted.
    var accepted: Int
    /// Events ignored because their id was already recorded or came twice in the body.
    var duplicate: Int
    var duplicates: [EventParser.Duplicate]
    /// Lines refused, when the client asked for partial acceptance.
    var rejected: [Problem.RowError]?
    /// dx-ingest's acceptance order of this batch; absent when nothing new was recorded.
    var sequence: Int64?
    /// `dx.observations.v1` messages written (one per province with new events).
    var messages: Int
}

/// Records dossier events in `ingest.events` and their counts, as `delta` observations, in the
/// outbox, in one transaction. An event id already recorded is left alone (`ON CONFLICT DO
/// NOTHING`), so a batch sent twice, or two clients racing with the same event, count it once.
struct EventStore: Sendable {
    let database: Database
    let catalog: Catalog
    let logger: Logger
    let source: String
    let topics: TopicNames
    let outbox = Outbox(schema: "ingest")

    static let staging = StagingTable(name: "stage_events", columns: [
        ("event_id", "text"), ("kind", "text"), ("unit", "text"), ("occurred_at", "timestamptz"),
        ("period", "text"), ("elements", "text[]"), ("message_id", "uuid"),
    ])

    /// Records `events`; returns the ids newly recorded, the sequence and the message count.
    func accept(_ events: [DossierEvent], token: TokenStore.Token) async throws -> (inserted: Set<String>, sequence: Int64?, messages: Int) {
        guard !events.isEmpty else { return ([], nil, 0) }
        let catalog = self.catalog
        let logger = self.logger
        let source = self.source
        let outbox = self.outbox
        let topics = self.topics
        // One message per province, its id fixed up front so each event row can name it.
        var messageIDs: [UnitCode: UUID] = [:]
        var provinceOf: [UnitCode: UnitCode] = [:]
        for event in events where provinceOf[event.unit] == nil {
            let province = catalog.units.province(of: event.unit) ?? event.unit
            provinceOf[event.unit] = province
            if messageIDs[province] == nil { messageIDs[province] = UUID() }
        }
        let rows: [[String?]] = events.map { event in
            let province = provinceOf[event.unit]!
            return [event.eventID, event.kind.rawValue, event.unit.rawValue, event.occurredAt.rfc3339, event.period.description,
                    "{" + event.elements.joined(separator: ",") + "}", messageIDs[province]!.uuidString]
        }
        let byID = Dictionary(events.map { ($0.eventID, $0) }, uniquingKeysWith: { first, _ in first })

        return try await database.withTransaction { connection in
            var sequence: Int64 = 0
            for try await value in try await connection.query("SELECT nextval('ingest.acceptance_sequence')", logger: logger).decode(Int64.self) {
                sequence = value
            }
            try await Self.staging.fill(rows, on: connection, logger: logger)
            // In event-id order, so two batches sharing ids wait on each other instead of deadlocking.
            var inserted = Set<String>()
            for try await id in try await connection.query("""
                INSERT INTO ingest.events (event_id, kind, unit, occurred_at, period, elements, sequence, token_id, message_id)
                SELECT event_id, kind, unit, occurred_at, period, elements, \(sequence), \(token.id), message_id
                FROM stage_events ORDER BY event_id
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id
                """, logger: logger).decode(String.self) {
                inserted.insert(id)
            }
            guard !inserted.isEmpty else { return (inserted, nil, 0) }

            // Deltas summed per cell, one batch per province.
            var sums: [UnitCode: [CellKey: Int]] = [:]
            for id in inserted {
                guard let event = byID[id] else { continue }
                let province = provinceOf[event.unit]!
                for element in event.elements {
                    sums[province, default: [:]][CellKey(unit: event.unit, period: event.period, element: element), default: 0] += 1
                }
            }
            var messages: [OutboxMessage] = []
            for (province, cells) in sums.sorted(by: { $0.key < $1.key }) {
                let observations = cells.sorted { $0.key < $1.key }.map { key, count in
                    Observation(unit: key.unit, period: key.period, element: key.element, delta: Quantity(count))
                }
                let batch = ObservationBatch(province: province, origin: .events, sequence: sequence, observations: observations)
                let envelope = Envelope(schema: ObservationBatch.schema, id: messageIDs[province]!, source: source, data: batch)
                messages.append(try OutboxMessage(topic: topics.observations, key: province.rawValue, envelope: envelope))
            }
            try await outbox.enqueue(messages, on: connection, logger: logger)
            return (inserted, sequence, messages.count)
        }
    }
}
