import ArgumentParser
import AsyncHTTPClient
import DXModel
import Foundation
import NIOCore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Submit a CSV or JSON file of observations through the HTTP API.",
        discussion: """
            CSV: a header with unit, period, element, value and optionally report_id and revision
            (other columns, such as source_file or quote, are ignored). Rows are grouped into one report per
            report_id; without a report_id column the whole file is one report named after the file.
            JSON: a report object as POST /v1/reports takes it, or an array of them.
            Retries on 5xx answers and connection errors; prints a summary of accepted, duplicate and
            rejected rows.
            """
    )

    @Argument(help: "The file to import (.csv or .json).")
    var file: String
    @Option(help: "dx-ingest's base URL (default: $DX_INGEST_URL or http://127.0.0.1:8080).")
    var url: String?
    @Option(help: "The ingestion token (default: $DX_TOKEN).")
    var token: String?
    @Option(help: "Revision for reports the file gives none (default 1).")
    var revision = 1
    @Flag(help: "Accept the valid rows of a report even when others are invalid.")
    var partial = false
    @Option(help: "Attempts per report on 5xx answers and connection errors.")
    var retries = 5
    @Flag(help: "After submitting, wait until dx-indicators has applied every accepted report.")
    var wait = false
    @Option(help: "Seconds to wait with --wait.")
    var waitTimeout = 180

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let token = token ?? environment["DX_TOKEN"], !token.isEmpty else {
            throw ValidationError("no token: pass --token or set DX_TOKEN (create one with `dx token create`)")
        }
        let base = (url ?? environment["DX_INGEST_URL"] ?? "http://127.0.0.1:8080").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(file) is not UTF-8") }
        let reports = try ReportFile.parse(text: text, fileName: file, defaultRevision: revision, partial: partial)
        guard !reports.isEmpty else { throw CLIError("\(file) has no observations") }

        var summary = ImportSummary()
        let progress = Progress(total: reports.count, rows: reports.reduce(0) { $0 + $1.rowCount })
        for report in reports {
            let outcome = await submit(report, to: base, token: token)
            summary.record(report, outcome)
            progress.advance(rows: report.rowCount, failed: summary.failedReports)
        }
        progress.finish()
        print(summary.text)
        if wait {
            let ids = reports.map(\.id)
            try await waitUntilApplied(Array(Set(ids)).sorted(), base: base, token: token)
        }
        if summary.failedReports > 0 { throw ExitCode(1) }
    }

    private func waitUntilApplied(_ ids: [String], base: String, token: String) async throws {
        let deadline = Date().addingTimeInterval(TimeInterval(waitTimeout))
        var pending = Set(ids)
        while !pending.isEmpty {
            for id in pending.sorted() {
                var request = HTTPClientRequest(url: "\(base)/v1/reports/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)")
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(30)),
                      let body = try? await response.body.collect(upTo: 1024 * 1024) else { continue }
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
                if response.status.code == 404 || object?["status"] as? String == "applied" { pending.remove(id) }
            }
            if pending.isEmpty { break }
            guard Date() < deadline else {
                throw CLIError("\(pending.count) report(s) not applied by dx-indicators within \(waitTimeout) s: \(pending.sorted().prefix(5).joined(separator: ", "))")
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        print("all \(ids.count) report(s) applied by dx-indicators")
    }

    enum Outcome {
        case accepted(observations: Int, rejected: Int)
        case duplicate
        case rejected(status: Int, detail: String, errors: [String])
        case failed(String)
    }

    private func submit(_ report: ReportFile.Report, to base: String, token: String) async -> Outcome {
        var attempt = 0
        var lastError = ""
        while attempt < max(1, retries) {
            attempt += 1
            do {
                var request = HTTPClientRequest(url: "\(base)/v1/reports")
                request.method = .POST
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: report.body))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
                let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
                switch response.status.code {
                case 200..<300:
                    if response.headers.first(name: "DX-Replayed") == "true" { return .duplicate }
                    let rejected = (object["rejected"] as? [Any])?.count ?? 0
                    return .accepted(observations: object["observations"] as? Int ?? report.rowCount, rejected: rejected)
                case 500...:
                    lastError = "HTTP \(response.status.code): \(object["detail"] as? String ?? "")"
                default:
                    let errors = (object["errors"] as? [[String: Any]] ?? []).map { error in
                        "line \(error["line"] ?? "?") \(error["field"] ?? ""): \(error["reason"] ?? "")"
                    }
                    return .rejected(status: Int(response.status.code), detail: object["detail"] as? String ?? "", errors: errors)
                }
            } catch {
                lastError = "\(error)"
            }
            if attempt < retries {
                try? await Task.sleep(for: .milliseconds(200 * (1 << min(attempt, 6))))
            }
        }
        return .failed(lastError)
    }
}

/// Reports read from an import file.
enum ReportFile {
    struct Report {
        var id: String
        var revision: Int
        var rowCount: Int
        var body: [UInt8]
    }

    static func parse(text: String, fileName: String, defaultRevision: Int, partial: Bool) throws -> [Report] {
        if fileName.lowercased().hasSuffix(".json") {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            let list = (object as? [[String: Any]]) ?? [(object as? [String: Any]) ?? [:]]
            return try list.map { report in
                var report = report
                if partial { report["partial"] = true }
                let rows = (report["observations"] as? [Any])?.count ?? 0
                return Report(id: report["reportId"] as? String ?? "?", revision: report["revision"] as? Int ?? 0, rowCount: rows,
                              body: Array(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])))
            }
        }
        let table: CSVTable
        do {
            table = try CSVTable(text: text, required: ["unit", "period", "element", "value"])
        } catch {
            throw CLIError("\(fileName): \(error)")
        }
        let defaultID = URL(fileURLWithPath: fileName).deletingPathExtension().lastPathComponent
        var order: [String] = []
        var groups: [String: (revision: Int, rows: [[String: Any]])] = [:]
        for row in table.rows {
            let id = table.has("report_id") && !table.value(row, "report_id").isEmpty ? table.value(row, "report_id") : defaultID
            let revision = table.has("revision") ? Int(table.value(row, "revision")) ?? defaultRevision : defaultRevision
            let valueText = table.value(row, "value").trimmingCharacters(in: .whitespaces)
            // Numbers go as JSON numbers; anything else as text, for the server to reject with its line.
            let value: Any = ExactDecimal.parse(valueText).map { NSDecimalNumber(decimal: $0) } ?? valueText
            if groups[id] == nil { order.append(id) }
            groups[id, default: (revision, [])].rows.append([
                "unit": table.value(row, "unit"), "period": table.value(row, "period"), "element": table.value(row, "element"), "value": value,
            ])
        }
        return try order.map { id in
            let group = groups[id]!
            var report: [String: Any] = ["reportId": id, "revision": group.revision, "observations": group.rows]
            if partial { report["partial"] = true }
            return Report(id: id, revision: group.revision, rowCount: group.rows.count,
                          body: Array(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])))
        }
    }
}

struct ImportSummary {
    var acceptedReports = 0, acceptedRows = 0, duplicateReports = 0, duplicateRows = 0
    var rejectedReports = 0, rejectedRows = 0, failedReports = 0
    var problems: [String] = []

    mutating func record(_ report: ReportFile.Report, _ outcome: ImportCommand.Outcome) {
        switch outcome {
        case .accepted(let observations, let rejected):
            acceptedReports += 1
            acceptedRows += observations
            rejectedRows += rejected
        case .duplicate:
            duplicateReports += 1
            duplicateRows += report.rowCount
        case .rejected(let status, let detail, let errors):
            rejectedReports += 1
            failedReports += 1
            rejectedRows += report.rowCount
            problems.append("report \(report.id) revision \(report.revision): HTTP \(status) \(detail)")
            problems += errors.prefix(20).map { "    \($0)" }
        case .failed(let error):
            failedReports += 1
            problems.append("report \(report.id) revision \(report.revision): not sent: \(error)")
        }
    }

    var text: String {
        var lines = [
            "accepted:  \(acceptedRows) row(s) in \(acceptedReports) report(s)",
            "duplicate: \(duplicateRows) row(s) in \(duplicateReports) report(s) already accepted (nothing changed)",
            "rejected:  \(rejectedRows) row(s)\(rejectedReports > 0 ? " (\(rejectedReports) report(s) refused)" : "")",
        ]
        if !problems.isEmpty { lines += ["problems:"] + problems.map { "  \($0)" } }
        return lines.joined(separator: "\n")
    }
}

/// A progress bar on standard error when it is a terminal; nothing otherwise.
final class Progress {
    let total: Int
    let rows: Int
    var done = 0
    var doneRows = 0
    let isTerminal = isatty(STDERR_FILENO) != 0
    let start = Date()

    init(total: Int, rows: Int) {
        self.total = total
        self.rows = rows
    }

    func advance(rows: Int, failed: Int) {
        done += 1
        doneRows += rows
        guard isTerminal else { return }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let rate = Double(doneRows) / max(0.001, Date().timeIntervalSince(start))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total) reports, \(doneRows)/\(self.rows) rows, \(Int(rate)) rows/s\(failed > 0 ? ", \(failed) failed" : "")   ".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
