import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Where and as whom to connect, from a `postgres://user:password@host:port/database?sslmode=...`
/// URL (`DX_POSTGRES_URL`). Each service has its own role; the URL says which.
public struct DatabaseConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var maximumConnections: Int = 10

    public enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    public init(host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .disable) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    public init(url text: String) throws {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty else {
            throw StoreError.configuration("'\(Self.redacted(text))' is not a PostgreSQL URL (postgres://user:password@host:port/database)")
        }
        guard let user = url.user, !user.isEmpty else {
            throw StoreError.configuration("the PostgreSQL URL '\(Self.redacted(text))' names no user")
        }
        let database = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else {
            throw StoreError.configuration("the PostgreSQL URL '\(Self.redacted(text))' names no database")
        }
        let sslmode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard let tls = TLSMode(rawValue: sslmode) else {
            throw StoreError.configuration("sslmode '\(sslmode)' is not one of disable, prefer, require")
        }
        self.init(host: host, port: url.port ?? 5432, username: user.removingPercentEncoding ?? user,
                  password: url.password?.removingPercentEncoding, database: database, tls: tls)
    }

    /// The URL without its password, for logs and errors.
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }

    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tlsConfig: PostgresClient.Configuration.TLS = switch tls {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: tlsConfig)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = 1
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tlsConfig: PostgresConnection.Configuration.TLS = switch tls {
        case .disable: .disable
        case .prefer: .prefer(try .init(configuration: .makeClientConfiguration()))
        case .require: .require(try .init(configuration: .makeClientConfiguration()))
        }
        return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tlsConfig)
    }

    /// Opens one connection and closes it: the pool only says "circuit breaker tripped" when it
    /// cannot connect, this says why (refused, no such database, wrong password).
    public func checkConnection(logger: Logger) async throws {
        do {
            let connection = try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw StoreError.connection("cannot connect to \(self): \(error.postgresDescription)")
        }
    }
}

/// The connection pool of one service. It is a `Service`: run it in the service group, and use
/// it from the other services of the group.
public struct Database: Service, Sendable {
    public let client: PostgresClient
    public let configuration: DatabaseConfiguration
    public let logger: Logger

    public init(configuration: DatabaseConfiguration, logger: Logger) {
        self.configuration = configuration
        // The pool's own chatter (e.g. a query issued a moment before `run()` has started) is not
        // worth a warning; failed queries surface to their callers with the server's message.
        var background = logger
        background.logLevel = .error
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: background)
        self.logger = logger
    }

    public func run() async throws {
        await client.run()
    }

    /// One transaction: everything in `body` commits together or not at all.
    public func withTransaction<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        try await client.withTransaction(logger: logger, body)
    }

    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> sending T) async throws -> T {
        try await client.withConnection(body)
    }

    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await client.query(query, logger: logger)
    }

    /// A round trip, for readiness checks.
    public func ping() async throws {
        try await client.query("SELECT 1", logger: logger)
    }
}

/// Errors of the storage layer, with what was being done.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case configuration(String)
    case migration(version: Int, name: String, underlying: String)
    case invalidData(String)
    case connection(String)

    public var description: String {
        switch self {
        case .configuration(let message): "configuration: \(message)"
        case .migration(let version, let name, let underlying): "migration \(version) (\(name)) failed: \(underlying)"
        case .invalidData(let message): "invalid data: \(message)"
        case .connection(let message): message
        }
    }
}

extension Error {
    /// PostgreSQL's errors in this error, whether it is one or a transaction's error that holds some.
    public var postgresServerErrors: [PSQLError] {
        if let error = self as? PostgresTransactionError {
            return [error.closureError, error.commitError, error.beginError].flatMap { $0?.postgresServerErrors ?? [] }
        }
        return (self as? PSQLError).map { [$0] } ?? []
    }

    /// The most useful text for an error from PostgresNIO: the server's message when there is one.
    public var postgresDescription: String {
        if let error = self as? PSQLError {
            if let message = error.serverInfo?[.message] {
                let detail = error.serverInfo?[.detail].map { " (\($0))" } ?? ""
                return message + detail
            }
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
        if let error = self as? PostgresTransactionError {
            if let closure = error.closureError { return closure.postgresDescription }
            if let commit = error.commitError { return commit.postgresDescription }
            if let begin = error.beginError { return begin.postgresDescription }
        }
        return String(describing: self)
    }
}
