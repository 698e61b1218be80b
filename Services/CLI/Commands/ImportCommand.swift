import ArgumentParser
import AsyncHTTPClient
import DXModel
import Foundation
import NIOCore

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Submit a CSV, JSON or NDJSON file through the HTTP API.",
        discussion: """
            CSV (.csv): a header with unit, period, element, value and optionally report_id and revision;
            other columns (a source, a quote, a unit's name) are sent along and ignored by the server.
            Rows are grouped into one report per report_id (without that column the whole file is one
            report named after the file) and each report is posted as text/csv.
            JSON (.json): a report object as POST /v1/reports takes it, or an array of them.
            NDJSON (.ndjson, .jsonl): dossier events, one JSON object per line, posted to /v1/events in
            batches of --batch-size lines.
            Retries 5xx answers and connection errors (with backoff) and 429 answers (after Retry-After);
            prints a summary of accepted, duplicate and rejected rows, with the file's line numbers.
            """
    )

    @Argument(help: "The file to import (.csv, .json, .ndjson or .jsonl).")
    var file: String
    @Option(help: "dx-ingest's base URL (default: $DX_INGEST_URL or http://127.0.0.1:8080).")
    var url: String?
    @Option(help: "The ingestion token (default: $DX_TOKEN).")
    var token: String?
    @Option(help: "Revision for reports the file gives none (default 1).")
    var revision = 1
    @Flag(help: "Accept the valid rows of a report even when others are invalid.")
    var partial = false
    @Option(help: "Attempts per request on 5xx answers and connection errors.")
    var retries = 5
    @Option(help: "Events per request for NDJSON files.")
    var batchSize = 1000
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
        let requests = try ImportFile.parse(text: text, fileName: file, defaultRevision: revision, partial: partial, batchSize: max(1, batchSize))
        guard !requests.isEmpty else { throw CLIError("\(file) has no observations or events") }

        var summary = ImportSummary()
        let progress = Progress(total: requests.count, rows: requests.reduce(0) { $0 + $1.rowCount })
        let client = ImportClient(base: base, token: token, retries: max(1, retries))
        for request in requests {
            let outcome = await client.submit(request)
            summary.record(request, outcome)
            progress.advance(rows: request.rowCount, failed: summary.failedRequests)
        }
        progress.finish()
        print(summary.text)
        if wait {
            let ids = requests.compactMap(\.reportID)
            if !ids.isEmpty { try await waitUntilApplied(Array(Set(ids)).sorted(), base: base, token: token) }
        }
        if summary.failedRequests > 0 { throw ExitCode(1) }
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
}

/// One request an import file turns into: a report (JSON or CSV) or a batch of events.
struct ImportRequest {
    enum Kind { case report, events }

    var kind: Kind
    var label: String
    var reportID: String?
    var path: String
    var contentType: String
    var body: [UInt8]
    var rowCount: Int
    /// The file line of each line the server may name (the body's line, or the observation's
    /// position for JSON); nil where they are the same.
    var fileLines: [Int: Int]?
    /// What the server's line numbers count: "line" or "observation".
    var lineNoun = "line"

    func fileLine(_ line: Int) -> Int { fileLines?[line] ?? line }
}

/// Reads an import file into requests.
enum ImportFile {
    static func parse(text: String, fileName: String, defaultRevision: Int, partial: Bool, batchSize: Int) throws -> [ImportRequest] {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".json") { return try json(text, partial: partial) }
        if lower.hasSuffix(".ndjson") || lower.hasSuffix(".jsonl") { return events(text, partial: partial, batchSize: batchSize) }
        return try csv(text, fileName: fileName, defaultRevision: defaultRevision, partial: partial)
    }

    static func json(_ text: String, partial: Bool) throws -> [ImportRequest] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let list = (object as? [[String: Any]]) ?? [(object as? [String: Any]) ?? [:]]
        return try list.map { report in
            var report = report
            if partial { report["partial"] = true }
            let id = report["reportId"] as? String
            let revision = report["revision"] as? Int ?? 0
            return ImportRequest(kind: .report, label: "report \(id ?? "?") revision \(revision)", reportID: id, path: "/v1/reports",
                                 contentType: "application/json", body: Array(try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])),
                                 rowCount: (report["observations"] as? [Any])?.count ?? 0, lineNoun: "observation")
        }
    }

    /// Each report's rows as a CSV body of their own, with every column but report_id and
    /// revision (those go in the query), so the server reads exactly what the file says.
    static func csv(_ text: String, fileName: String, defaultRevision: Int, partial: Bool) throws -> [ImportRequest] {
        let table: CSVTable
        do {
            table = try CSVTable(text: text, required: ["unit", "period", "element", "value"])
        } catch {
            throw CLIError("\(fileName): \(error)")
        }
        let defaultID = URL(fileURLWithPath: fileName).deletingPathExtension().lastPathComponent
        let kept = table.header.enumerated().filter { !["report_id", "revision"].contains($0.element.lowercased()) }
        let header = kept.map { CSV.escape($0.element) }.joined(separator: ",")
        var order: [String] = []
        var groups: [String: (revision: Int, rows: [CSV.Row])] = [:]
        for row in table.rows {
            let id = table.has("report_id") && !table.value(row, "report_id").isEmpty ? table.value(row, "report_id") : defaultID
            if groups[id] == nil {
                order.append(id)
                let revision = table.has("revision") ? Int(table.value(row, "revision").trimmingCharacters(in: .whitespaces)) ?? defaultRevision : defaultRevision
                groups[id] = (revision, [])
            }
            groups[id]!.rows.append(row)
        }
        return order.map { id in
            let group = groups[id]!
            var body = header + "\n"
            var bodyLine = 2
            var lines: [Int: Int] = [1: 1]
            for row in group.rows {
                let text = kept.map { CSV.escape($0.offset < row.fields.count ? row.fields[$0.offset] : "") }.joined(separator: ",")
                lines[bodyLine] = row.line
                bodyLine += 1 + text.filter { $0 == "\n" }.count
                body += text + "\n"
            }
            var query = "reportId=\(percentEncoded(id))&revision=\(group.revision)"
            if partial { query += "&partial=true" }
            return ImportRequest(kind: .report, label: "report \(id) revision \(group.revision)", reportID: id, path: "/v1/reports?\(query)",
                                 contentType: "text/csv; charset=utf-8", body: Array(body.utf8), rowCount: group.rows.count, fileLines: lines)
        }
    }

    static func events(_ text: String, partial: Bool, batchSize: Int) -> [ImportRequest] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var requests: [ImportRequest] = []
        var start = 0
        while start < lines.count {
            let end = min(lines.count, start + batchSize)
            let chunk = lines[start..<end]
            let count = chunk.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.count
            if count > 0 {
                var map: [Int: Int] = [:]
                for offset in 0..<chunk.count { map[offset + 1] = start + offset + 1 }
                requests.append(ImportRequest(kind: .events, label: "events of lines \(start + 1)–\(end)", reportID: nil,
                                              path: "/v1/events" + (partial ? "?partial=true" : ""), contentType: "application/x-ndjson",
                                              body: Array(chunk.joined(separator: "\n").utf8), rowCount: count, fileLines: map))
            }
            start = end
        }
        return requests
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// What became of one request.
enum ImportOutcome {
    case accepted(rows: Int, duplicates: Int, rejectedRows: Int, rejected: [String])
    /// The same revision was accepted before: its stored answer, nothing changed.
    case replayed(rows: Int, rejectedRows: Int)
    case refused(status: Int, detail: String, errors: [String])
    case failed(String)
}

/// Sends requests, retrying what a retry can fix: 5xx answers and connection errors with
/// exponential backoff, 429 after the server's Retry-After.
struct ImportClient {
    let base: String
    let token: String
    let retries: Int
    /// Most waits on 429 for one request before giving up.
    var rateLimitWaits = 20

    func submit(_ request: ImportRequest) async -> ImportOutcome {
        var attempt = 0
        var waits = 0
        var lastError = ""
        while attempt < retries {
            do {
                var http = HTTPClientRequest(url: base + request.path)
                http.method = .POST
                http.headers.add(name: "Authorization", value: "Bearer \(token)")
                http.headers.add(name: "Content-Type", value: request.contentType)
                http.body = .bytes(ByteBuffer(bytes: request.body))
                let response = try await HTTPClient.shared.execute(http, timeout: .seconds(120))
                let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
                func describe(_ errors: Any?) -> [String] {
                    (errors as? [[String: Any]] ?? []).map { error in
                        let line = (error["line"] as? Int).map { $0 == 0 ? "header" : "\(request.lineNoun) \(request.fileLine($0))" } ?? "?"
                        return "\(line) \(error["field"] as? String ?? ""): \(error["reason"] as? String ?? "")"
                    }
                }
                switch response.status.code {
                case 200..<300:
                    let rejected = describe(object["rejected"])
                    let rejectedRows = Set((object["rejected"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int }).count
                    if response.headers.first(name: "DX-Replayed") == "true" {
                        return .replayed(rows: object["observations"] as? Int ?? request.rowCount, rejectedRows: rejectedRows)
                    }
                    switch request.kind {
                    case .report:
                        return .accepted(rows: object["observations"] as? Int ?? request.rowCount, duplicates: 0, rejectedRows: rejectedRows, rejected: rejected)
                    case .events:
                        return .accepted(rows: object["accepted"] as? Int ?? 0, duplicates: object["duplicate"] as? Int ?? 0,
                                         rejectedRows: rejectedRows, rejected: rejected)
                    }
                case 429 where waits < rateLimitWaits:
                    waits += 1
                    let seconds = Int(response.headers.first(name: "Retry-After") ?? "") ?? 1
                    try? await Task.sleep(for: .seconds(min(max(seconds, 1), 120)))
                    continue
                case 500...:
                    lastError = "HTTP \(response.status.code): \(object["detail"] as? String ?? "")"
                default:
                    return .refused(status: Int(response.status.code), detail: object["detail"] as? String ?? "", errors: describe(object["errors"]))
                }
            } catch {
                lastError = "\(error)"
            }
            attempt += 1
            if attempt < retries {
                try? await Task.sleep(for: .milliseconds(200 * (1 << min(attempt, 6))))
            }
        }
        return .failed(lastError)
    }
}

struct ImportSummary {
    var acceptedRequests = 0, acceptedRows = 0, duplicateRows = 0, rejectedRows = 0, failedRequests = 0, replayedRequests = 0
    var problems: [String] = []

    mutating func record(_ request: ImportRequest, _ outcome: ImportOutcome) {
        switch outcome {
        case .accepted(let rows, let duplicates, let rejectedCount, let rejected):
            acceptedRequests += 1
            acceptedRows += rows
            duplicateRows += duplicates
            rejectedRows += rejectedCount
            if !rejected.isEmpty {
                problems.append("\(request.label): accepted in part; rejected:")
                problems += rejected.prefix(20).map { "    \($0)" }
            }
        case .replayed(let rows, let rejectedCount):
            replayedRequests += 1
            duplicateRows += rows
            rejectedRows += rejectedCount
        case .refused(let status, let detail, let errors):
            failedRequests += 1
            rejectedRows += request.rowCount
            problems.append("\(request.label): HTTP \(status) \(detail)")
            problems += errors.prefix(20).map { "    \($0)" }
            if errors.count > 20 { problems.append("    … and \(errors.count - 20) more") }
        case .failed(let error):
            failedRequests += 1
            problems.append("\(request.label): not sent: \(error)")
        }
    }

    var text: String {
        var lines = [
            "accepted:  \(acceptedRows) row(s) in \(acceptedRequests) request(s)",
            "duplicate: \(duplicateRows) row(s) already accepted (nothing changed)\(replayedRequests > 0 ? "; \(replayedRequests) report(s) resubmitted unchanged" : "")",
            "rejected:  \(rejectedRows) row(s)\(failedRequests > 0 ? " (\(failedRequests) request(s) not accepted)" : "")",
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
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total) requests, \(doneRows)/\(self.rows) rows, \(Int(rate)) rows/s\(failed > 0 ? ", \(failed) failed" : "")   ".utf8))
    }

    func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
