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

    /// What `accept` recorded.
    struct Recorded: Sendable {
        /// Events newly recorded and counted.
        var accepted: Int
        /// The ids, among those given, that an earlier request had recorded already.
        var alreadyRecorded: Set<String>
        var sequence: Int64?
        var messages: Int
    }

    /// Records `events`, each id at most once ever, and their counts.
    func accept(_ events: [DossierEvent], token: TokenStore.Token) async throws -> Recorded {
        guard !events.isEmpty else { return Recorded(accepted: 0, alreadyRecorded: [], sequence: nil, messages: 0) }
        let logger = self.logger
        let source = self.source
        let outbox = self.outbox
        let topics = self.topics
        // One message per province, its id fixed up front so each event row can name it.
        var messageIDs: [UnitCode: UUID] = [:]
        let provinces = events.map { catalog.units.province(of: $0.unit) ?? $0.unit }
        // The rows as arrays of columns, unnested by PostgreSQL: one statement, no temporary table.
        var ids = ArrayColumn(.text, capacity: events.count)
        var kinds = ArrayColumn(.text, capacity: events.count)
        var units = ArrayColumn(.text, capacity: events.count)
        var times = ArrayColumn(.timestamptz, capacity: events.count)
        var periods = ArrayColumn(.text, capacity: events.count)
        var elements = ArrayColumn(.text, capacity: events.count)
        var messageColumn = ArrayColumn(.uuid, capacity: events.count)
        for (event, province) in zip(events, provinces) {
            ids.append(event.eventID)
            kinds.append(event.kind.rawValue)
            units.append(event.unit.rawValue)
            times.append(microsecondsSince1970: event.occurredAt.seconds * 1_000_000 + Int64(event.occurredAt.microseconds))
            periods.append(event.period.description)
            // Element codes are catalog codes, which never hold a comma.
            elements.append(event.elements.joined(separator: ","))
            if let id = messageIDs[province] {
                messageColumn.append(id)
            } else {
                let id = UUID()
                messageIDs[province] = id
                messageColumn.append(id)
            }
        }
        var binds = PostgresBindings(capacity: 9)
        for column in [ids, kinds, units, times, periods, elements, messageColumn] { binds.append(column, context: .default) }
        try binds.append(token.id, context: .default)
        binds.append(events.count)

        return try await database.withTransaction { connection in
            // The sequence is drawn in the same statement. In event-id order (byte order, as the
            // key's collation), so two batches sharing ids wait on each other instead of
            // deadlocking. The ids recorded are sent back only when some were recorded before.
            var sequence: Int64 = 0
            var inserted = events.count
            var insertedIDs: [String]?
            for try await (next, count, written) in try await connection.query(PostgresQuery(unsafeSQL: """
                WITH drawn AS (SELECT nextval('ingest.acceptance_sequence') AS sequence),
                written AS (
                    INSERT INTO ingest.events (event_id, kind, unit, occurred_at, period, elements, sequence, token_id, message_id)
                    SELECT e.event_id, e.kind, e.unit, e.occurred_at, e.period, string_to_array(e.elements, ','), drawn.sequence, $8,
                           e.message_id
                    FROM drawn, unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::uuid[])
                         AS e(event_id, kind, unit, occurred_at, period, elements, message_id)
                    ORDER BY e.event_id COLLATE "C"
                    ON CONFLICT (event_id) DO NOTHING
                    RETURNING event_id
                ),
                counted AS (SELECT count(*)::int8 AS count FROM written)
                SELECT drawn.sequence, counted.count,
                       CASE WHEN counted.count < $9 THEN (SELECT array_agg(event_id) FROM written) END
                FROM drawn, counted
                """, binds: binds), logger: logger).decode((Int64, Int, [String]?).self) {
                sequence = next
                inserted = count
                insertedIDs = written
            }
            guard inserted > 0 else {
                return Recorded(accepted: 0, alreadyRecorded: Set(events.map(\.eventID)), sequence: nil, messages: 0)
            }
            let recordedBefore: Set<String>
            if let insertedIDs {
                let new = Set(insertedIDs)
                recordedBefore = Set(events.lazy.map(\.eventID).filter { !new.contains($0) })
            } else {
                recordedBefore = []
            }

            // Deltas summed per cell, one batch per province, cells in the order the events came
            // (deterministic without a sort).
            var sums: [UnitCode: [Observation]] = [:]
            var position: [CellKey: Int] = [:]  // the cell's index in its province's batch
            position.reserveCapacity(inserted * 2)
            for (event, province) in zip(events, provinces) where recordedBefore.isEmpty || !recordedBefore.contains(event.eventID) {
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
            return Recorded(accepted: inserted, alreadyRecorded: recordedBefore, sequence: sequence, messages: messages.count)
        }
    }
}
