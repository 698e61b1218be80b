import ArgumentParser
import DXModel
import DXStore
import Foundation

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Check or load the catalog (units, data elements, indicators, targets).",
        subcommands: [Check.self, Load.self]
    )

    struct DirectoryOption: ParsableArguments {
        @Option(name: .customLong("dir"), help: "The catalog directory (default: $DX_CATALOG_DIR or ./catalog).")
        var directory: String?

        var path: String {
            directory ?? ProcessInfo.processInfo.environment["DX_CATALOG_DIR"] ?? "catalog"
        }

        func read() throws -> CatalogFiles {
            var files: [String: String] = [:]
            for name in CatalogFiles.required + CatalogFiles.optional {
                let url = URL(fileURLWithPath: path).appendingPathComponent(name)
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    if CatalogFiles.required.contains(name) {
                        throw CLIError("\(url.path) is missing (is --dir pointing at the catalog directory?)")
                    }
                    continue
                }
                guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(url.path) is not UTF-8") }
                files[name] = text
            }
            do {
                return try CatalogFiles.parse(files)
            } catch {
                throw CLIError("\(path)/\(error)")
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the catalog files without a database.",
            discussion: "Checks parents, successors, indicator elements and seed observations, prints unit counts per tree and level, and each seed ratio next to the percentage its article prints."
        )

        @OptionGroup var directory: DirectoryOption

        func run() async throws {
            let files = try directory.read()
            let problems = CatalogValidation.problems(in: files)
            print("Units")
            for (tree, level, count) in CatalogValidation.unitCounts(files) {
                print("  \(tree == .current ? "current (from 2025-07-01)" : "pre-2025             ")  \(level.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(count).leftPadded(6))")
            }
            let whole = files.successions.filter { $0.kind == .whole }.count
            print("  successions: \(files.successions.count) (\(whole) whole, \(files.successions.count - whole) split)")
            print("Data elements: \(files.elements.count)   indicators: \(files.indicators.count)   targets: \(files.targets.count)")
            print("Seed: \(files.seedObservations.count) observations in \(Set(files.seedObservations.map(\.reportID)).count) reports")
            if let rules = files.alertRules {
                print("Alert rules: \(rules.count) (\(rules.map { "\($0.code) [\($0.kind.rawValue)]" }.joined(separator: ", ")))")
            } else {
                print("Alert rules: none (\(CatalogFiles.alertRules) is missing)")
            }

            let results = SeedCheckEvaluation.evaluate(files)
            if !results.isEmpty {
                print("Seed ratios against the articles")
                for result in results {
                    let computed = result.computed.map { "\(VietnameseNumberFormat.format($0))%" } ?? "—"
                    let fraction = result.numerator.flatMap { n in result.denominator.map { "\(n)/\($0)" } } ?? ""
                    print("  \(result.agrees ? "ok  " : "FAIL") \(result.check.unit.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(result.check.period.description.padding(toLength: 7, withPad: " ", startingAt: 0)) \(result.check.indicator.padding(toLength: 30, withPad: " ", startingAt: 0)) \(fraction.leftPadded(14)) = \(computed.leftPadded(8))  article: \(result.check.printed)  (\(result.check.sourceFile))")
                    if let reason = result.reason, !result.agrees { print("       \(reason)") }
                }
            }
            let disagreements = results.filter { !$0.agrees }
            if !problems.isEmpty {
                print("Problems (\(problems.count))")
                for problem in problems.prefix(50) { print("  \(problem)") }
                if problems.count > 50 { print("  … and \(problems.count - 50) more") }
            }
            if !problems.isEmpty || !disagreements.isEmpty {
                throw ExitCode.failure
            }
            print("catalog OK")
        }
    }

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the catalog files into the database (idempotent).",
            discussion: "Validates first and writes nothing if the files have a problem. Loading the same files again changes nothing; a changed file changes only what changed."
        )

        @OptionGroup var directory: DirectoryOption
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let files = try directory.read()
            let problems = CatalogValidation.problems(in: files)
            guard problems.isEmpty else {
                for problem in problems.prefix(20) { printError("  \(problem)") }
                throw CLIError("the catalog has \(problems.count) problem(s); nothing was loaded (run `dx catalog check`)")
            }
            let start = Date()
            let logger = database.logger
            let summary = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db in
                try await CatalogRepository(database: db, logger: logger).load(files)
            }
            print(summary.isUnchanged ? "catalog unchanged" : summary.description)
            print(String(format: "loaded %d units, %d data elements, %d indicators, %d targets, %d alert rules in %.1f s", files.units.count,
                         files.elements.count, files.indicators.count, files.targets.count, files.alertRules?.count ?? 0, Date().timeIntervalSince(start)))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
