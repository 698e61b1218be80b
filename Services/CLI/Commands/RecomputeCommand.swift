import ArgumentParser
import DXModel
import DXStore
import Foundation
import Indicators
import PostgresNIO

struct RecomputeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recompute",
        abstract: "Recompute every aggregate and indicator value from scratch and compare with the incremental state.",
        discussion: """
            The full recomputation pulls every value from the stored inputs (each report's latest revision and the
            event counts) with the same formulas the incremental engine uses, and compares the two cell by cell.
            --source ingest recomputes from what dx-ingest accepted instead of what dx-indicators stored, which also
            checks that nothing was lost on the way. --apply writes the recomputed values where they differ; stop
            dx-indicators first, it keeps state in memory.
            """
    )

    enum Source: String, ExpressibleByArgument {
        case engine, ingest
    }

    @Option(help: "Only this unit and the units under it.") var unit: String?
    @Option(help: "Only this period (2023, 2023-Q4, 2023-10).") var period: String?
    @Option(help: "engine (dx-indicators' stored inputs) or ingest (dx-ingest's accepted reports and events).") var source: Source = .engine
    @Flag(help: "Write the recomputed values where they differ.") var apply = false
    @Flag(help: "With --apply: even if dx-indicators is connected.") var force = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = database.logger
        let periodFilter = try period.map { text -> Period in
            guard let value = Period(text) else { throw ValidationError("'\(text)' is not a period (2023, 2023-Q4 or 2023-10)") }
            return value
        }
        let (unit, source, apply, force) = (self.unit, self.source, self.apply, self.force)
        try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
            let catalog = try await CatalogRepository(database: db, logger: logger).read()
            let units = try await unit.asyncMap { Set(try await subtree(of: $0, db).map { UnitCode($0) }) }
            let scope = EngineAudit.Scope(units: units, period: periodFilter)
            let audit = EngineAudit(catalog: catalog, database: db, logger: logger)
            let start = Date()
            printError("reading \(source == .engine ? "dx-indicators' stored inputs" : "dx-ingest's accepted reports and events")…")
            let inputs = source == .engine ? try await audit.engineInputs() : try await audit.acceptedInputs()
            let expected = audit.recompute(inputs)
            let actual = try await audit.engineState()
            let mismatches = EngineAudit.compare(expected: scope.restrict(expected), actual: scope.restrict(actual))
            let compared = scope.restrict(expected)
            print("recomputed \(compared.cellCount) cells and \(compared.indicators.count) indicator values in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            if mismatches.isEmpty {
                print("incremental state equals the full recomputation")
                return
            }
            print("\(mismatches.count) difference(s):")
            for mismatch in mismatches.prefix(30) { print("  \(mismatch)") }
            if mismatches.count > 30 { print("  … and \(mismatches.count - 30) more") }
            guard apply else { throw ExitCode(2) }
            var connected = 0
            for try await count in try await db.query("SELECT count(*)::int FROM pg_stat_activity WHERE usename = 'dx_indicators' AND datname = current_database()").decode(Int.self) {
                connected = count
            }
            if connected > 0 && !force {
                throw CLIError("dx-indicators is connected (\(connected) connection(s)); stop it before --apply, or pass --force")
            }
            let written = try await audit.repair(expected: expected, actual: actual, scope: scope)
            print("wrote \(written.cells) cell(s) and \(written.indicators) indicator value(s)")
        }
    }
}
