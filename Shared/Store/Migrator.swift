import Foundation
import Logging
import PostgresNIO

/// Applies pending migrations, then makes sure each service's role exists with its password and
/// can write only its own schema. Run by `dx migrate` as a superuser; safe to run again.
public struct Migrator: Sendable {
    /// A service's PostgreSQL role and the schema it owns.
    public struct Role: Sendable {
        public var name: String
        public var password: String
        public var schema: String?

        public init(name: String, password: String, schema: String?) {
            self.name = name
            self.password = password
            self.schema = schema
        }
    }

    public static let ingestRole = "dx_ingest"
    public static let indicatorsRole = "dx_indicators"
    public static let alertsRole = "dx_alerts"
    public static let reportingRole = "dx_reporting"

    /// The four roles with passwords from `DX_<SERVICE>_DB_PASSWORD`, defaulting to the role name.
    public static func roles(environment: [String: String]) -> [Role] {
        [
            Role(name: ingestRole, password: environment["DX_INGEST_DB_PASSWORD"] ?? ingestRole, schema: "ingest"),
            Role(name: indicatorsRole, password: environment["DX_INDICATORS_DB_PASSWORD"] ?? indicatorsRole, schema: "engine"),
            Role(name: alertsRole, password: environment["DX_ALERTS_DB_PASSWORD"] ?? alertsRole, schema: "alerting"),
            Role(name: reportingRole, password: environment["DX_REPORTING_DB_PASSWORD"] ?? reportingRole, schema: nil),
        ]
    }

    public let migrations: [Migration]
    public let logger: Logger

    public init(migrations: [Migration] = Migration.all, logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is pending; returns the versions applied now.
    @discardableResult
    public func migrate(_ database: Database, roles: [Role]) async throws -> [Int] {
        try await database.withConnection { connection in
            // One migrator at a time, even when several start together.
            try await connection.query("SELECT pg_advisory_lock(7427001)", logger: logger)
            do {
                let applied = try await applyPending(connection)
                try await ensureRolesRetryingRaces(connection, roles: roles)
                try await connection.query("SELECT pg_advisory_unlock(7427001)", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(7427001)", logger: logger)
                throw error
            }
        }
    }

    /// Versions already applied.
    public func appliedVersions(_ database: Database) async throws -> [Int] {
        try await database.withConnection { connection in
            try await createHistoryTable(connection)
            return try await versions(connection)
        }
    }

    private func createHistoryTable(_ connection: PostgresConnection) async throws {
        try await connection.query("""
            CREATE TABLE IF NOT EXISTS public.dx_schema_migrations (
                version    int PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
    }

    private func versions(_ connection: PostgresConnection) async throws -> [Int] {
        var result: [Int] = []
        for try await version in try await connection.query("SELECT version FROM public.dx_schema_migrations ORDER BY version", logger: logger).decode(Int.self) {
            result.append(version)
        }
        return result
    }

    private func applyPending(_ connection: PostgresConnection) async throws -> [Int] {
        try await createHistoryTable(connection)
        let done = Set(try await versions(connection))
        var applied: [Int] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
            logger.info("applying migration \(migration.version) \(migration.name)")
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in SQLStatements.split(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO public.dx_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger
                    )
                }
            } catch {
                throw StoreError.migration(version: migration.version, name: migration.name, underlying: error.postgresDescription)
            }
            applied.append(migration.version)
        }
        return applied
    }

    /// Roles belong to the whole cluster: another database migrated at the same moment (a test
    /// suite's databases, two deployments sharing a cluster) can update the same role row, and
    /// PostgreSQL then fails one of the two with "tuple concurrently updated". The role step is
    /// idempotent, so it is run again.
    private func ensureRolesRetryingRaces(_ connection: PostgresConnection, roles: [Role]) async throws {
        for attempt in 1... {
            do {
                return try await ensureRoles(connection, roles: roles)
            } catch where attempt < 5 && Self.isConcurrentCatalogUpdate(error) {
                logger.info("roles updated concurrently by another migration; trying again", metadata: ["attempt": "\(attempt)"])
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }

    static func isConcurrentCatalogUpdate(_ error: Error) -> Bool {
        error.postgresServerErrors.contains { $0.serverInfo?[.sqlState] == "XX000" && $0.serverInfo?[.message] == "tuple concurrently updated" }
    }

    private func ensureRoles(_ connection: PostgresConnection, roles: [Role]) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            for role in roles {
                // Role names are ours (constants); the password travels as a parameter.
                try await connection.query("SELECT set_config('dx.role_password', \(role.password), true)", logger: logger)
                try await connection.query(PostgresQuery(unsafeSQL: """
                    DO $$
                    BEGIN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role.name)') THEN
                            BEGIN
                                CREATE ROLE \(role.name) LOGIN;
                            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                                NULL; -- another database of the cluster created it meanwhile
                            END;
                        END IF;
                        EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', '\(role.name)', current_setting('dx.role_password'));
                        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), '\(role.name)');
                    END
                    $$
                    """), logger: logger)
            }
            let serviceRoles = roles.filter { $0.schema != nil }
            let reader = roles.first { $0.schema == nil }
            var grants: [String] = []
            if !serviceRoles.isEmpty {
                let names = serviceRoles.map(\.name).joined(separator: ", ")
                grants += [
                    "GRANT USAGE ON SCHEMA catalog TO \(names)",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO \(names)",
                ]
            }
            for role in serviceRoles {
                let schema = role.schema!
                grants += [
                    "GRANT USAGE ON SCHEMA \(schema) TO \(role.name)",
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(role.name)",
                    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA \(schema) TO \(role.name)",
                ]
            }
            // dx-ingest answers "applied by dx-indicators?" from the engine's record of what it applied.
            if roles.contains(where: { $0.name == Self.ingestRole }) {
                grants += [
                    "GRANT USAGE ON SCHEMA engine TO \(Self.ingestRole)",
                    "GRANT SELECT ON engine.processed_messages TO \(Self.ingestRole)",
                ]
            }
            // dx-alerts' missing-report timer asks which cells have a value: that one view only.
            if roles.contains(where: { $0.name == Self.alertsRole }) && migrations.contains(where: { $0.version == 3 }) {
                grants += [
                    "GRANT USAGE ON SCHEMA reporting TO \(Self.alertsRole)",
                    "GRANT SELECT ON reporting.cell_values TO \(Self.alertsRole)",
                ]
            }
            // Readers see the views and the catalog they are about (units, indicators, targets):
            // `dx report` resolves a unit's subtree and names from it.
            if let reader {
                grants += [
                    "GRANT USAGE ON SCHEMA reporting TO \(reader.name)",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO \(reader.name)",
                    "GRANT USAGE ON SCHEMA catalog TO \(reader.name)",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA catalog TO \(reader.name)",
                ]
            }
            for grant in grants {
                try await connection.query(PostgresQuery(unsafeSQL: grant), logger: logger)
            }
        }
    }
}
