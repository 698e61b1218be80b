import ArgumentParser

/// `dx bench …`: measurements against running services. Merged with the engine bench, one
/// BenchCommand lists every bench (this file can then go).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a running deployment (use a bench deployment: it writes data).",
        subcommands: [AlertsBench.self]
    )
}
