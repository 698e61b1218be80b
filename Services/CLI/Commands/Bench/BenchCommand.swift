import ArgumentParser

/// `dx bench …`: measurements against a bench deployment (`make bench` runs them all).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a running deployment (use a bench deployment: it writes data).",
        subcommands: [IngestBench.self, EngineBench.self, LatencyBench.self, AlertsBench.self, BenchCatalogCommand.self]
    )
}
