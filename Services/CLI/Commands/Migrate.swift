import ArgumentParser
import DXStore
import Foundation

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and set up the service roles.",
        discussion: """
            Creates the schemas (catalog, ingest, engine, alerting, reporting) and one role per service:
            dx_ingest, dx_indicators, dx_alerts and dx_reporting, with passwords from DX_INGEST_DB_PASSWORD,
            DX_INDICATORS_DB_PASSWORD, DX_ALERTS_DB_PASSWORD and DX_REPORTING_DB_PASSWORD (default: the role
            name). Each service role can write only its own schema. Safe to run again.
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = database.logger
        let applied = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
            try await Migrator(logger: logger).migrate(db, roles: Migrator.roles(environment: ProcessInfo.processInfo.environment))
        }
        if applied.isEmpty {
            print("database is up to date (\(Migration.all.count) migration(s)); roles and grants checked")
        } else {
            print("applied migration(s) \(applied.map(String.init).joined(separator: ", ")); roles and grants set")
        }
    }
}
