import ArgumentParser

@main
struct DX: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dx",
        abstract: "DX Pulse operator command line.",
        discussion: """
            Database commands connect with DX_POSTGRES_ADMIN_URL (or --database-url); `dx report` uses
            DX_REPORTING_URL when set. See README.md for every variable.
            """,
        subcommands: [
            Migrate.self, CatalogCommand.self, TokenCommand.self, ImportCommand.self, ReportCommand.self, RecomputeCommand.self, OutboxCommand.self, AlertsCommand.self, BenchCommand.self,
        ]
    )
}
