import DXModel
import Foundation
import Testing

@Suite("dx import: CSV, JSON and NDJSON files through the HTTP API", .serialized)
struct ImportCommandTests {
    static func write(_ text: String, name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dx-import-\(UInt32.random(in: 0..<UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Two reports of Huyện Đa Krông's communes, names and quotes in Vietnamese; line 6 is wrong.
    static let csv = #"""
        report_id,revision,unit,ten_don_vi,period,element,value,trich_dan
        krong-klang-2024,1,old-19555,Thị trấn Krông Klang,2024,households_total,3100,"Theo báo cáo, ""3.100 hộ"""
        krong-klang-2024,1,old-19555,Thị trấn Krông Klang,2024,households_with_fibre,1800,
        mo-o-2024,2,old-19558,Xã Mò Ó,2024,households_total,950,
        mo-o-2024,2,old-19558,Xã Mò Ó,2024,households_with_fibre,"1.000,5",
        mo-o-2024,2,old-19558,Xã Mò Ó,2024,villages_total,12,"nhiều dòng
        trong một ô"
        mo-o-2024,2,old-19558,Xã Mò Ó,2024,households_with_computer,210,

        """#

    @Test("a CSV file: one text/csv request per report, partial acceptance, errors at the file's lines, duplicates on a second run")
    func csvFile() async throws {
        try await withPipeline("import", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "old-467")
            let path = try Self.write(Self.csv, name: "dakrong.csv")
            let arguments = ["import", path, "--url", pipeline.ingestURL, "--token", token]

            // All-or-nothing: the report with the bad row is refused, the other accepted.
            let strict = try await DXCommand.run(arguments)
            #expect(strict.status == 1, "\(strict.stdout)\n\(strict.stderr)")
            #expect(strict.stdout.contains("accepted:  2 row(s) in 1 request(s)"), "\(strict.stdout)")
            #expect(strict.stdout.contains("rejected:  4 row(s) (1 request(s) not accepted)"), "\(strict.stdout)")
            #expect(strict.stdout.contains("report mo-o-2024 revision 2: HTTP 422"), "\(strict.stdout)")
            #expect(strict.stdout.contains("line 5 value: '1.000,5' is not a number"), "\(strict.stdout)")
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.report_values WHERE report_id = 'mo-o-2024'") == 0)

            // Partial: the valid rows of mo-o-2024 go in; the summary names the rejected line.
            let partial = try await DXCommand.run(arguments + ["--partial"])
            #expect(partial.status == 0, "\(partial.stdout)\n\(partial.stderr)")
            #expect(partial.stdout.contains("accepted:  3 row(s) in 1 request(s)"), "\(partial.stdout)")
            #expect(partial.stdout.contains("duplicate: 2 row(s) already accepted"), "\(partial.stdout)")
            #expect(partial.stdout.contains("rejected:  1 row(s)"), "\(partial.stdout)")
            #expect(partial.stdout.contains("line 5 value"), "\(partial.stdout)")
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.report_values WHERE report_id = 'mo-o-2024'") == 3)
            #expect(try await count(pipeline, "SELECT revision FROM ingest.reports WHERE report_id = 'mo-o-2024'") == 2)

            // Again: nothing new.
            let again = try await DXCommand.run(arguments + ["--partial"])
            #expect(again.status == 0)
            #expect(again.stdout.contains("accepted:  0 row(s) in 0 request(s)"), "\(again.stdout)")
            #expect(again.stdout.contains("duplicate: 5 row(s) already accepted"), "\(again.stdout)")
            #expect(again.stdout.contains("rejected:  1 row(s)"), "\(again.stdout)")
        }
    }

    @Test("JSON and NDJSON files: reports and dossier events, duplicates counted")
    func jsonAndEvents() async throws {
        try await withPipeline("importjson", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "66")
            let reports = """
                [{"reportId": "ea-o-2025", "revision": 1, "unit": "24403", "period": "2025",
                  "observations": [{"element": "households_total", "value": 2100}, {"element": "households_with_fibre", "value": 1700}]},
                 {"reportId": "ea-o-2026", "revision": 1, "unit": "24403", "period": "2026",
                  "observations": [{"element": "households_total", "value": 2150}]}]
                """
            let json = try await DXCommand.run(["import", try Self.write(reports, name: "ea-o.json"), "--url", pipeline.ingestURL, "--token", token])
            #expect(json.status == 0, "\(json.stdout)\n\(json.stderr)")
            #expect(json.stdout.contains("accepted:  3 row(s) in 2 request(s)"), "\(json.stdout)")

            let events = (0..<7).map { i in
                #"{"eventId": "hcc-\#(i % 6)", "kind": "dossier_received", "unit": "24403", "occurredAt": "2026-05-0\#(i + 1)T08:00:00+07:00", "channel": "online"}"#
            } + [#"{"eventId": "hcc-bad", "kind": "dossier_received", "unit": "24403", "occurredAt": "2026-05-01T08:00:00+07:00"}"#]
            let path = try Self.write(events.joined(separator: "\n") + "\n", name: "hcc.ndjson")
            let first = try await DXCommand.run(["import", path, "--url", pipeline.ingestURL, "--token", token, "--batch-size", "3", "--partial"])
            #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
            #expect(first.stdout.contains("accepted:  6 row(s) in 3 request(s)"), "\(first.stdout)")
            #expect(first.stdout.contains("duplicate: 1 row(s)"), "\(first.stdout)")
            #expect(first.stdout.contains("rejected:  1 row(s)"), "\(first.stdout)")
            #expect(first.stdout.contains("line 8 channel: channel is missing"), "\(first.stdout)")
            let second = try await DXCommand.run(["import", path, "--url", pipeline.ingestURL, "--token", token, "--partial"])
            #expect(second.stdout.contains("accepted:  0 row(s)") && second.stdout.contains("duplicate: 7 row(s)"), "\(second.stdout)")
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events") == 6)
        }
    }

    @Test("connection refused at first: dx import retries until dx-ingest is up, and nothing is lost or doubled")
    func retriesUntilTheServiceIsUp() async throws {
        let pipeline = try await Pipeline(label: "importretry")
        do {
            let token = try await pipeline.token(unit: "old-467")
            let path = try Self.write(Self.csv, name: "dakrong.csv")
            let port = freePort()
            async let importing = DXCommand.run(["import", path, "--url", "http://127.0.0.1:\(port)", "--token", token, "--partial", "--retries", "12"])
            // Nothing listens on the port yet: the first attempts fail to connect.
            try await Task.sleep(for: .seconds(1))
            try await pipeline.start([Pipeline.ingest], ports: [Pipeline.ingest: port])
            let result = try await importing
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("accepted:  5 row(s) in 2 request(s)"), "\(result.stdout)")
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.report_values") == 5)
            pipeline.stop()
        } catch {
            let logs = pipeline.logs()
            pipeline.stop()
            throw TestFailure("\(error)\n\(logs)")
        }
    }
}
