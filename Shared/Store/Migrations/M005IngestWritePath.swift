/// Cheaper writes on the path of every accepted report, event and engine batch.
///
/// - Outbox payloads are large JSON (a report's observations, a batch's indicator values) that
///   PostgreSQL compresses when it stores them. LZ4 does it about six times faster than the
///   default pglz. A server built without LZ4 keeps pglz.
/// - `ingest.events (unit, period)` was never read by a query (the audit reads every event), but
///   every accepted event paid for it; the primary key on the event id stays.
let m005WritePath = Migration(version: 5, name: "lz4 outbox payloads, no unused event index", sql: """
    DO $$
    BEGIN
        ALTER TABLE ingest.outbox ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE engine.outbox ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE alerting.outbox ALTER COLUMN payload SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this PostgreSQL has no lz4: outbox payloads stay compressed with pglz';
    END
    $$;
    DROP INDEX IF EXISTS ingest.events_unit_period;
    """)
