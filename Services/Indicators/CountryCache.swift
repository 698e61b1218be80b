import DXModel

/// The rows the country pass reads, kept between batches: the country's cells and indicator
/// values and its children's (the provinces') cells, as of `version` of
/// `engine.country_version`. Each pass applies its own batch's province rows to it, so it stays
/// what PostgreSQL holds for as long as nobody else bumps the version.
///
/// Only the provinces' values are read by the country's computation; a batch that changes a
/// province's row but not its value runs no country pass, so such a row may be older here than
/// in PostgreSQL in its other columns, never in its value.
struct CountryCache: Sendable {
    var store: InMemoryCellStore
    var version: Int64
}

/// When the country pass reads the whole country state (and keeps it) and when only what the
/// pass needs. Alone, dx-indicators reads it once. Replicas that share the partitions take
/// turns at the country, so each would find its copy stale at almost every pass: after a stale
/// copy, a replica reads only what it needs for a while, then tries to keep a copy again.
struct CountryCachePolicy: Sendable {
    static let passesWithoutCacheAfterStale = 20
    private var passesWithoutCache = 0

    /// Another writer bumped the version since this process's last pass.
    mutating func foundStale() {
        passesWithoutCache = Self.passesWithoutCacheAfterStale
    }

    /// Whether this pass should read the whole country state into a new cache.
    mutating func loadWhole() -> Bool {
        guard passesWithoutCache == 0 else {
            passesWithoutCache -= 1
            return false
        }
        return true
    }
}
