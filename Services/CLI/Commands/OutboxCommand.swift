import ArgumentParser
import DXStore
import Foundation
import PostgresNIO

/// dx-ingest's outbox, for the one thing its relay cannot see by itself: a message the broker
/// acknowledged and then lost (a broker restarted without its data) before dx-indicators read it.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "dx-ingest's outbox: messages published and not yet applied by dx-indicators.",
        subcommands: [Resend.self]
    )

    struct Resend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send again the messages published to Kafka but not applied by dx-indicators.",
            discussion: """
                A report whose status stays `published` and never becomes `applied` had its message acknowledged by \
                a broker that lost it before dx-indicators read it (a broker restarted without its data). This marks \
                such messages unpublished again, so dx-ingest's relay sends them within a second. dx-indicators applies \
                a message once by its id, so sending one it is only slow to apply is harmless.
                """
        )

        @Option(help: "Only messages published at least this many seconds ago (dx-indicators may just be behind on newer ones).")
        var olderThan = 60
        @Flag(help: "Only count them.") var dryRun = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard olderThan >= 0 else { throw ValidationError("--older-than must be 0 or more seconds, not \(olderThan)") }
        }

        /// Outbox rows published at least `$1` seconds ago whose message dx-indicators has not applied.
        static let unapplied = """
            SELECT o.id FROM ingest.outbox o
            WHERE o.published_at < now() - make_interval(secs => $1::float8)
              AND NOT EXISTS (SELECT 1 FROM engine.processed_messages p WHERE p.message_id = o.message_id)
            """

        func run() async throws {
            let logger = database.logger
            let (olderThan, dryRun) = (self.olderThan, self.dryRun)
            let outbox = Outbox(schema: "ingest")
            var seconds = PostgresBindings()
            seconds.append(olderThan)
            let binds = seconds
            try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                // The count, and unless this is a dry run the rows made unsent, in one transaction.
                let count = try await db.withTransaction { connection in
                    let sql = dryRun
                        ? "SELECT count(*)::int FROM (\(Self.unapplied)) AS unapplied"
                        : """
                          WITH resent AS (
                              UPDATE ingest.outbox SET published_at = NULL,
                                  last_error = 'sent again by dx outbox resend: not applied by dx-indicators'
                              WHERE id IN (\(Self.unapplied))
                              RETURNING 1
                          )
                          SELECT count(*)::int FROM resent
                          """
                    var count = 0
                    for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(Int.self) {
                        count = value
                    }
                    if !dryRun && count > 0 { try await outbox.wakeRelay(on: connection, logger: logger) }
                    return count
                }
                if dryRun {
                    print("\(count) message(s) published more than \(olderThan) s ago and not applied by dx-indicators")
                } else if count == 0 {
                    print("0 message(s) to send again: dx-indicators applied every message published more than \(olderThan) s ago")
                } else {
                    print("\(count) message(s) published more than \(olderThan) s ago and not applied by dx-indicators: dx-ingest sends them again")
                }
            }
        }
    }
}
