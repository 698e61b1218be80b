/// Event ids compared byte by byte.
///
/// An event id is ASCII from a fixed set (`ReportValidator.reportIDPattern`), so byte order is
/// as good an order as any, and the "C" collation makes every comparison in the primary key a
/// `memcmp` instead of a locale-aware comparison, in every insert into it and every lookup of
/// ids recorded before. Rebuilds the key's index.
let m006EventIdentifiers = Migration(version: 6, name: "event ids in the C collation", sql: """
    ALTER TABLE ingest.events ALTER COLUMN event_id TYPE text COLLATE "C";
    """)
