/// Report values COPYed row by row.
///
/// Every accepted report COPYs its values (up to a few thousand) into `ingest.report_values` in
/// a statement of its own. For such a statement PostgreSQL (15 and 16) buffers the rows for a
/// multi-row insert, each in a tuple slot made for this statement alone, and every slot registers
/// the table's descriptor with the transaction's resource owner, whose bookkeeping of one
/// descriptor held many times grows with the square of their number: in `perf`, making and
/// dropping the slots was about a sixth of PostgreSQL's CPU while dx-ingest accepted reports.
/// A column whose default is volatile makes COPY insert each row through one slot instead;
/// `clock_timestamp()` is such a default, and says when each value was written (NULL for values
/// written before this migration).
///
/// `ingest.events` keeps the buffered insert: its rows are wider, and writing one WAL record per
/// page instead of one per row saves more there than the slots cost (measured with `psql`, 400
/// COPYs of 1,000 events: 2.54–2.62 s buffered, 2.74–2.75 s row by row; of 1,000 report values:
/// 2.18–2.26 s buffered, 1.92–1.95 s row by row). So does one large COPY, whose slots are made
/// once and reused.
let m009RowByRowCopy = Migration(version: 9, name: "report values COPYed row by row", sql: """
    ALTER TABLE ingest.report_values ADD COLUMN written_at timestamptz;
    ALTER TABLE ingest.report_values ALTER COLUMN written_at SET DEFAULT clock_timestamp();
    """)
