import ArgumentParser
import DXStore
import Foundation
import Logging

/// Options every database command takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DX_POSTGRES_ADMIN_URL).")
    var url: String?

    @Flag(name: .long, help: "Log what the command does in detail.")
    var verbose = false

    func resolvedURL(fallbackVariables: [String] = ["DX_POSTGRES_ADMIN_URL"]) throws -> String {
        if let url { return url }
        let environment = ProcessInfo.processInfo.environment
        for name in fallbackVariables {
            if let value = environment[name], !value.isEmpty { return value }
        }
        throw ValidationError("no database: pass --database-url or set \(fallbackVariables.joined(separator: " or "))")
    }

    var logger: Logger {
        var logger = Logger(label: "dx")
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }
}

/// Runs `body` with a connection pool that lives exactly as long as the command.
func withDatabase<T: Sendable>(url: String, logger: Logger, _ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
    let configuration = try DatabaseConfiguration(url: url)
    let database = Database(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            await database.client.run()
            return nil
        }
        defer { group.cancelAll() }
        do {
            return try await body(database)
        } catch {
            // When the pool could not connect it only says so; one plain connection says why.
            // Tried only after a failure, so a command that works pays nothing for it.
            do { try await configuration.checkConnection(logger: logger) } catch { throw CLIError("\(error)") }
            throw CLIError(error.postgresDescription)
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard error, for progress and diagnostics that must not mix with output.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
