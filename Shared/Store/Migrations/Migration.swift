/// A versioned change to the database, applied once, in order, in its own transaction.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Every migration, in order. Append; never edit one that has shipped.
    public static let all: [Migration] = [
        m001Foundation,
        m003Alerting,
        m004ReportingViews,
        m005WritePath,
        m006EventIdentifiers,
        m007CountryVersion,
        m008UnitPeriods,
    ]
}

/// The tables every service that publishes through an outbox or consumes with stored offsets
/// needs, in its own schema.
func outboxAndConsumerTables(schema s: String) -> String {
    """
    CREATE TABLE \(s).outbox (
        id           bigserial PRIMARY KEY,
        message_id   uuid NOT NULL UNIQUE,
        topic        text NOT NULL,
        key          text NOT NULL,
        payload      bytea NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts     int NOT NULL DEFAULT 0,
        last_error   text
    );
    CREATE INDEX outbox_pending ON \(s).outbox (id) WHERE published_at IS NULL;

    CREATE TABLE \(s).consumer_offsets (
        consumer    text NOT NULL,
        topic       text NOT NULL,
        partition   int NOT NULL,
        next_offset bigint NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, topic, partition)
    );

    CREATE TABLE \(s).processed_messages (
        consumer     text NOT NULL,
        message_id   uuid NOT NULL,
        topic        text NOT NULL,
        partition    int NOT NULL,
        "offset"     bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, message_id)
    );
    CREATE INDEX processed_messages_age ON \(s).processed_messages (processed_at);
    """
}
