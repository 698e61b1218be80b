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
            Migrate.self, CatalogCommand.self, TokenCommand.self, ImportCommand.self, ReportCommand.self, AlertsCommand.self,
            BenchCommand.self,
        ]
    )
}

/// `dx bench …`: measurements against running services (the lead wires them into `make bench`).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a running deployment (use a bench deployment: it writes data).",
        subcommands: [AlertsBench.self]
    )
}
