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
/// outbox, in one transaction. An event id already recorded is left alone, so a batch sent twice,
/// or two clients racing with the same event, count it once.
///
/// The events are COPYed, PostgreSQL's fastest way in. Two requests racing with the same new
/// id: the second's COPY waits for the first to commit, then fails on the key
/// (`isEventIDRace`), and the second is retried, when the lookup of its ids finds that one.
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

    static let columns = ["event_id", "kind", "unit", "occurred_at", "period", "elements", "sequence", "token_id", "message_id"]

    /// Each of `DossierEvent.countedElements` as the text of a PostgreSQL array (element codes
    /// need no quoting), the `elements` column of its events.
    static let elementsText: [String] = DossierEvent.countedElements.map { "{\($0.joined(separator: ","))}" }

    /// The sequence, and which ids are recorded already: each looked up by the key, whatever the
    /// planner thinks of the table's size (a plain `= ANY` scans the whole table while its
    /// statistics say it is small).
    static let drawAndLookUpSQL = """
        SELECT nextval('ingest.acceptance_sequence'), ARRAY(
            SELECT recorded.event_id FROM unnest($1::text[]) AS given(event_id)
            CROSS JOIN LATERAL (SELECT event_id FROM ingest.events WHERE event_id = given.event_id LIMIT 1) AS recorded)
        """
    /// The sequence alone, and no id recorded already.
    static let drawSQL = "SELECT nextval('ingest.acceptance_sequence'), '{}'::text[]"

    /// Records `events`, each id at most once ever, and their counts.
    ///
    /// New ids are the rule (a client sends an event once, and again only when it missed the
    /// answer), so the events are first COPYed without looking for their ids. An id recorded
    /// before fails that COPY on the key, and nothing of it stays; then the ids are looked up
    /// first and only the new events are COPYed.
    func accept(_ events: [DossierEvent], token: TokenStore.Token) async throws -> Recorded {
        do {
            return try await accept(events, token: token, lookingUpIDs: false)
        } catch where isEventIDRace(error) {
            return try await accept(events, token: token, lookingUpIDs: true)
        }
    }

    private func accept(_ events: [DossierEvent], token: TokenStore.Token, lookingUpIDs: Bool) async throws -> Recorded {
        guard !events.isEmpty else { return Recorded(accepted: 0, alreadyRecorded: [], sequence: nil, messages: 0) }
        let logger = self.logger
        let source = self.source
        let outbox = self.outbox
        let topics = self.topics
        // One message per province, its id fixed up front so each event row can name it.
        var messageIDs: [UnitCode: UUID] = [:]
        let provinces = events.map { catalog.units.province(of: $0.unit) ?? $0.unit }
        for province in provinces where messageIDs[province] == nil { messageIDs[province] = UUID() }
        var probe = PostgresBindings(capacity: 1)
        if lookingUpIDs {
            var ids = ArrayColumn(.text, capacity: events.count)
            for event in events { ids.append(event.eventID) }
            probe.append(ids, context: .default)
        }

        return try await database.withTransaction { connection in
            var sequence: Int64 = 0
            var recordedBefore = Set<String>()
            let sql = lookingUpIDs ? Self.drawAndLookUpSQL : Self.drawSQL
            for try await (next, existing) in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: probe), logger: logger)
                .decode((Int64, [String]).self) {
                sequence = next
                recordedBefore = Set(existing)
            }
            let new = events.indices.filter { !recordedBefore.contains(events[$0].eventID) }
            guard !new.isEmpty else { return Recorded(accepted: 0, alreadyRecorded: recordedBefore, sequence: nil, messages: 0) }

            try await connection.copy(new, into: "ingest.events", columns: Self.columns, logger: logger) { index, row in
                let event = events[index]
                row.field(event.eventID)
                row.field(event.kind.rawValue)
                row.field(event.unit.rawValue)
                row.field(unescaped: event.occurredAt.appendRFC3339)
                row.field(event.period)
                row.field(Self.elementsText[event.counted])
                row.field(Int(sequence))
                row.field(token.id)
                row.field(messageIDs[provinces[index]]!)
            }

            // Deltas summed per cell, one batch per province, cells in the order the events came
            // (deterministic without a sort).
            var sums: [UnitCode: [Observation]] = [:]
            var position: [CellKey: Int] = [:]  // the cell's index in its province's batch
            position.reserveCapacity(new.count * 2)
            for index in new {
                let event = events[index]
                let province = provinces[index]
                for element in event.elements {
                    let key = CellKey(unit: event.unit, period: event.period, element: element)
                    if let cell = position[key] {
                        sums[province]![cell].delta! += 1
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
            return Recorded(accepted: new.count, alreadyRecorded: recordedBefore, sequence: sequence, messages: messages.count)
        }
    }
}
