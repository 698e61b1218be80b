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
        // The rows as arrays of columns, unnested by PostgreSQL: one statement, no temporary table.
        var ids = ArrayColumn(.text, capacity: events.count)
        var kinds = ArrayColumn(.text, capacity: events.count)
        var units = ArrayColumn(.text, capacity: events.count)
        var times = ArrayColumn(.text, capacity: events.count)
        var periods = ArrayColumn(.text, capacity: events.count)
        var elements = ArrayColumn(.text, capacity: events.count)
        var messageColumn = ArrayColumn(.uuid, capacity: events.count)
        for event in events {
            ids.append(event.eventID)
            kinds.append(event.kind.rawValue)
            units.append(event.unit.rawValue)
            times.append(event.occurredAt.rfc3339)
            periods.append(event.period.description)
            // Element codes are catalog codes, which never hold a comma.
            elements.append(event.elements.joined(separator: ","))
            messageColumn.append(messageIDs[provinceOf[event.unit]!]!)
        }
        var binds = PostgresBindings(capacity: 8)
        for column in [ids, kinds, units, times, periods, elements, messageColumn] { binds.append(column, context: .default) }
        try binds.append(token.id, context: .default)

        return try await database.withTransaction { connection in
            // The sequence is drawn in the same statement. In event-id order, so two batches
            // sharing ids wait on each other instead of deadlocking.
            var sequence: Int64 = 0
            var inserted = Set<String>()
            inserted.reserveCapacity(events.count)
            for try await (next, written) in try await connection.query(PostgresQuery(unsafeSQL: """
                WITH drawn AS (SELECT nextval('ingest.acceptance_sequence') AS sequence),
                written AS (
                    INSERT INTO ingest.events (event_id, kind, unit, occurred_at, period, elements, sequence, token_id, message_id)
                    SELECT e.event_id, e.kind, e.unit, e.occurred_at::timestamptz, e.period, string_to_array(e.elements, ','), drawn.sequence, $8,
                           e.message_id
                    FROM drawn, unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[])
                         AS e(event_id, kind, unit, occurred_at, period, elements, message_id)
                    ORDER BY e.event_id
                    ON CONFLICT (event_id) DO NOTHING
                    RETURNING event_id
                )
                SELECT drawn.sequence, coalesce((SELECT array_agg(event_id) FROM written), '{}'::text[]) FROM drawn
                """, binds: binds), logger: logger).decode((Int64, [String]).self) {
                sequence = next
                inserted.formUnion(written)
            }
            guard !inserted.isEmpty else { return (inserted, nil, 0) }

            // Deltas summed per cell, one batch per province, cells in the order the events came
            // (deterministic without a sort).
            var sums: [UnitCode: [Observation]] = [:]
            var position: [CellKey: Int] = [:]  // the cell's index in its province's batch
            position.reserveCapacity(inserted.count * 2)
            for event in events where inserted.contains(event.eventID) {
                let province = provinceOf[event.unit]!
                for element in event.elements {
                    let key = CellKey(unit: event.unit, period: event.period, element: element)
                    if let index = position[key] {
                        sums[province]![index].delta! += 1
                    } else {
                        position[key] = sums[province, default: []].count
                        sums[province, default: []].append(Observation(unit: event.unit, period: event.period, element: element, delta: 1))
                    }
                }
            }
            var messages: [OutboxMessage] = []
            for (province, observations) in sums.sorted(by: { $0.key < $1.key }) {
                let batch = ObservationBatch(province: province, origin: .events, sequence: sequence, observations: observations)
                let envelope = Envelope(schema: ObservationBatch.schema, id: messageIDs[province]!, source: source, data: batch)
                messages.append(try OutboxMessage(topic: topics.observations, key: province.rawValue, envelope: envelope))
            }
            try await outbox.enqueue(messages, on: connection, logger: logger)
            return (inserted, sequence, messages.count)
        }
    }
}
