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
        let messages = ProvinceMessages(for: events)
        let tokenText = Array(token.id.uuidString.utf8)
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
                row.field(unescaped: event.eventID)  // letters, digits and . _ - : only
                row.field(unescaped: event.kind.rawValue)
                row.field(unescaped: event.unit.rawValue)  // a catalog code
                row.field(unescaped: event.occurredAt.appendRFC3339)
                row.field(event.period)
                row.field(unescaped: Self.elementsText[event.counted])
                row.field(Int(sequence))
                row.field(unescaped: tokenText)
                row.field(unescaped: messages.idText[messages.messageOfEvent[index]])
            }

            var counts = EventCounts(expecting: new.count)
            for index in new { counts.add(events[index], message: messages.messageOfEvent[index]) }
            let observations = counts.observations(messages: messages.ids.count)
            var outboxMessages: [OutboxMessage] = []
            for slot in messages.ids.indices.sorted(by: { messages.provinces[$0] < messages.provinces[$1] }) where !observations[slot].isEmpty {
                let province = messages.provinces[slot]
                let batch = ObservationBatch(province: province, origin: .events, sequence: sequence, observations: observations[slot])
                let envelope = Envelope(schema: ObservationBatch.schema, id: messages.ids[slot], source: source, data: batch)
                outboxMessages.append(try OutboxMessage(topic: topics.observations, key: province.rawValue, envelope: envelope))
            }
            try await outbox.enqueue(outboxMessages, on: connection, logger: logger)
            return Recorded(accepted: new.count, alreadyRecorded: recordedBefore, sequence: sequence, messages: outboxMessages.count)
        }
    }
}

/// The `dx.observations.v1` messages of one request, one per province, each with its id fixed
/// before the events are written so every event row can name the message that counts it.
struct ProvinceMessages: Sendable {
    /// Each message's province, id, and id as an event row holds it.
    let provinces: [UnitCode]
    let ids: [UUID]
    let idText: [[UInt8]]
    /// For each event, the index of its province's message.
    let messageOfEvent: [Int]

    init(for events: [DossierEvent]) {
        var slots: [UnitCode: Int] = [:]
        var provinces: [UnitCode] = []
        messageOfEvent = events.map { event in
            if let slot = slots[event.province] { return slot }
            slots[event.province] = provinces.count
            provinces.append(event.province)
            return provinces.count - 1
        }
        self.provinces = provinces
        ids = provinces.map { _ in UUID() }
        idText = ids.map { Array($0.uuidString.utf8) }
    }
}

/// Events counted per unit and month, then turned into one `delta` observation per cell they
/// incremented. Counting by unit and month first, with a tally per kind of event, costs one
/// lookup per event whatever the number of elements it counts into.
struct EventCounts {
    private struct UnitMonth: Hashable {
        var unit: UnitCode
        var period: Period
    }

    private var groups: [UnitMonth: Int] = [:]
    private var keys: [UnitMonth] = []
    private var messageOfGroup: [Int] = []
    /// `DossierEvent.countedElements.count` tallies per group, one after another.
    private var tallies: [Int] = []

    /// Room for `events` events without growing.
    init(expecting events: Int) {
        groups.reserveCapacity(events)
        keys.reserveCapacity(events)
        messageOfGroup.reserveCapacity(events)
        tallies.reserveCapacity(events * DossierEvent.countedElements.count)
    }

    mutating func add(_ event: DossierEvent, message: Int) {
        let key = UnitMonth(unit: event.unit, period: event.period)
        let group: Int
        if let existing = groups[key] {
            group = existing
        } else {
            group = keys.count
            groups[key] = group
            keys.append(key)
            messageOfGroup.append(message)
            tallies.append(contentsOf: repeatElement(0, count: DossierEvent.countedElements.count))
        }
        tallies[group * DossierEvent.countedElements.count + event.counted] += 1
    }

    /// The observations of each message (by its slot), cells in the order their unit and month
    /// first came, elements in `DossierEvent.elementCodes` order: deterministic without a sort.
    func observations(messages: Int) -> [[Observation]] {
        var result = [[Observation]](repeating: [], count: messages)
        let width = DossierEvent.countedElements.count
        for (group, key) in keys.enumerated() {
            let tally = tallies[group * width..<(group + 1) * width]
            for (element, lists) in zip(DossierEvent.elementCodes, DossierEvent.listsCounting) {
                let delta = lists.reduce(0) { $0 + tally[tally.startIndex + $1] }
                if delta > 0 {
                    result[messageOfGroup[group]].append(Observation(unit: key.unit, period: key.period, element: element, delta: Quantity(delta)))
                }
            }
        }
        return result
    }
}
