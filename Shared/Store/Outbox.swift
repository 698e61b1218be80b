import DXModel
import Foundation
import Logging
import PostgresNIO

/// A message to publish once the transaction that writes it commits.
public struct OutboxMessage: Sendable {
    public var id: UUID
    public var topic: String
    public var key: String
    public var payload: [UInt8]

    public init(id: UUID, topic: String, key: String, payload: [UInt8]) {
        self.id = id
        self.topic = topic
        self.key = key
        self.payload = payload
    }

    /// An envelope encoded for its topic, keyed by `key`.
    public init<Payload>(topic: String, key: String, envelope: Envelope<Payload>) throws {
        self.init(id: envelope.id, topic: topic, key: key, payload: try MessageCoding.encode(envelope))
    }
}

/// The transactional outbox of one schema: messages are written in the same transaction as the
/// effects they announce, and the relay publishes them after commit. A crash between commit and
/// publication delays a message; it never loses one.
public struct Outbox: Sendable {
    public let schema: String

    public init(schema: String) {
        self.schema = schema
    }

    /// The NOTIFY channel that wakes this outbox's relay.
    public var channel: String { "\(schema)_outbox" }

    /// Wakes the relay at the caller's commit, for rows made unsent again outside `enqueue`.
    public func wakeRelay(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "SELECT pg_notify('\(channel)', '')"), logger: logger)
    }

    /// Writes messages inside the caller's transaction and wakes the relay at commit.
    public func enqueue(_ messages: [OutboxMessage], on connection: PostgresConnection, logger: Logger) async throws {
        guard !messages.isEmpty else { return }
        // One statement for the whole batch: arrays of columns, unnested.
        let ids = messages.map(\.id)
        let topics = messages.map(\.topic)
        let keys = messages.map(\.key)
        let payloads = messages.map { ByteBuffer(bytes: $0.payload) }
        // The NOTIFY in the same statement: one round trip for the batch.
        try await connection.query(PostgresQuery(unsafeSQL: """
            WITH written AS (
                INSERT INTO \(schema).outbox (message_id, topic, key, payload)
                SELECT message_id, topic, key, payload
                FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS m(message_id, topic, key, payload, n)
                ORDER BY n
                RETURNING 1
            )
            SELECT pg_notify('\(channel)', '') FROM (SELECT 1 FROM written LIMIT 1) AS any_written
            """, binds: binds(ids, topics, keys, payloads)), logger: logger)
    }

    private func binds(_ ids: [UUID], _ topics: [String], _ keys: [String], _ payloads: [ByteBuffer]) -> PostgresBindings {
        var binds = PostgresBindings(capacity: 4)
        binds.append(ids, context: .default)
        binds.append(topics, context: .default)
        binds.append(keys, context: .default)
        binds.append(payloads, context: .default)
        return binds
    }
}
