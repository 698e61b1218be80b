import DXModel
import DXStore
import Foundation
import Logging
import Synchronization

/// A database of its own for one test, in the cluster `make test` started: migrated, with the
/// service roles, and the real catalog loaded.
struct TestDatabase: Sendable {
    let name: String
    let adminURL: String
    let host: String
    let port: Int

    func url(role: String) -> String {
        "postgres://\(role):\(role)@\(host):\(port)/\(name)"
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let catalogFiles: CatalogFiles = {
        var files: [String: String] = [:]
        for name in CatalogFiles.required + CatalogFiles.optional {
            let url = repositoryRoot.appendingPathComponent("catalog").appendingPathComponent(name)
            if let text = try? String(contentsOf: url, encoding: .utf8) { files[name] = text }
        }
        do {
            return try CatalogFiles.parse(files)
        } catch {
            fatalError("catalog/ cannot be parsed: \(error)")
        }
    }()

    /// Serialises creation: roles are shared by the whole cluster, and two migrations granting on
    /// the same role at once can conflict.
    private static let creation = AsyncLock()

    /// With `migrations`, only those: a test of a later migration starts from the schema before it.
    static func create(_ label: String = "t", migrations: [Migration] = Migration.all) async throws -> TestDatabase {
        try await creation.withLock { try await createUnlocked(label, migrations: migrations) }
    }

    private static func createUnlocked(_ label: String, migrations: [Migration]) async throws -> TestDatabase {
        let admin = try DatabaseConfiguration(url: try TestEnvironment.postgresAdminURL)
        let name = "dx_\(label)_\(UInt32.random(in: 0..<UInt32.max))"
        let logger = TestEnvironment.logger("test-db")
        _ = try await withDatabase(admin, logger: logger) { database in
            try await database.query("CREATE DATABASE \(unescaped: name)")
        }
        var configuration = admin
        configuration.database = name
        let adminURL = "postgres://\(admin.username):\(admin.password ?? "")@\(admin.host):\(admin.port)/\(name)"
        try await withDatabase(configuration, logger: logger) { database in
            try await Migrator(migrations: migrations, logger: logger).migrate(database, roles: Migrator.roles(environment: [:]))
            _ = try await CatalogRepository(database: database, logger: logger).load(catalogFiles)
        }
        return TestDatabase(name: name, adminURL: adminURL, host: admin.host, port: admin.port)
    }

    /// Runs `body` with a pool on this database as the admin.
    func withAdmin<T: Sendable>(_ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
        try await withDatabase(try DatabaseConfiguration(url: adminURL), logger: TestEnvironment.logger("test-db"), body)
    }
}

func withDatabase<T: Sendable>(_ configuration: DatabaseConfiguration, logger: Logger, _ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
    let database = Database(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await database.client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body(database)
    }
}
