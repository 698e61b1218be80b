import ArgumentParser
import DXModel
import DXStore
import Foundation
import Ingestion

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage ingestion tokens, each scoped to an administrative unit.",
        subcommands: [Create.self, Revoke.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once.",
            discussion: "A token for a commune may submit data for that commune only; a province's token for the province and everything under it. Only a hash is stored: keep the printed token."
        )

        @Option(help: "The unit code the token is scoped to, e.g. 66, 24403 or old-467.")
        var unit: String
        @Option(help: "A name to recognise the token by, e.g. the office that uses it.")
        var name: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = database.logger
            let unit = UnitCode(self.unit)
            let name = self.name
            let (token, secret) = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                var exists = false
                for try await _ in try await db.query("SELECT 1 FROM catalog.units WHERE code = \(unit.rawValue)") { exists = true }
                guard exists else { throw CLIError("unit \(unit) is not in the catalog (load it with `dx catalog load`)") }
                return try await TokenStore(database: db, logger: logger).create(unit: unit, name: name)
            }
            printError("token \(token.id) '\(token.name)' for unit \(token.unit); it is shown once, keep it:")
            print(secret)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by id or name.")

        @Argument(help: "The token's id or name.")
        var token: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = database.logger
            let token = self.token
            let count = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                try await TokenStore(database: db, logger: logger).revoke(token)
            }
            guard count > 0 else { throw CLIError("no live token with id or name '\(token)'") }
            print("revoked \(count) token(s)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let logger = database.logger
            let tokens = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                try await TokenStore(database: db, logger: logger).list()
            }
            let rows = tokens.map { [$0.id.uuidString.lowercased(), $0.name, $0.unit.rawValue, RFC3339.string($0.createdAt), $0.revokedAt.map(RFC3339.string) ?? "live"] }
            print(TextTable.render(header: ["id", "name", "unit", "created", "status"], rows: rows))
        }
    }
}
