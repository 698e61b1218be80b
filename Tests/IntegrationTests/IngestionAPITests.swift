import DXModel
import DXStore
import Foundation
import Testing

/// The errors of a problem document as (line, field, reason).
func rowErrors(_ response: HTTP.Response) throws -> [(line: Int, field: String, reason: String)] {
    let object = try response.json()
    return (object["errors"] as? [[String: Any]] ?? []).map { ($0["line"] as? Int ?? -1, $0["field"] as? String ?? "", $0["reason"] as? String ?? "") }
}

/// True when the answer is an RFC 9457 problem document with this status.
func isProblem(_ response: HTTP.Response, _ status: Int) -> Bool {
    guard response.status == status, response.header("Content-Type") == "application/problem+json",
          let object = try? response.json() else { return false }
    return object["status"] as? Int == status && object["title"] is String && object["detail"] is String && object["type"] is String
}

@Suite("Ingestion API: reports in JSON and CSV, events, validation, limits, authorisation", .serialized)
struct IngestionAPITests {
    /// Huyện Đa Krông (Quảng Trị, before 2025) and two of its communes.
    static let district = "old-467"
    static let krongKlang = "old-19555"
    static let moO = "old-19558"

    @Test("CSV reports: UTF-8 with Vietnamese columns, replay by content across formats, revisions, 409 for a lower one")
    func csvReports() async throws {
        try await withPipeline("csv", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: Self.district)
            let url = "\(pipeline.ingestURL)/v1/reports"
            // A spreadsheet export: BOM, CRLF, a quoted name with a comma and diacritics, extra columns ignored.
            let csv = "\u{FEFF}đơn vị (tên),unit,period,element,value,ghi chú\r\n"
                + "\"Thị trấn Krông Klang, Đa Krông\",\(Self.krongKlang),2023,households_total,3100,\"Số liệu \"\"chính thức\"\"\"\r\n"
                + "Thị trấn Krông Klang,\(Self.krongKlang),2023,households_with_fibre,1800,\r\n"
                + "Xã Mò Ó,\(Self.moO),2023,households_total,950,\r\n"
            let first = try await HTTP.post("\(url)?reportId=dakrong-csv&revision=1", token: token, csv: csv)
            #expect(first.status == 201, "\(first.text)")
            #expect(try first.json()["observations"] as? Int == 3)
            #expect(first.header("Location") == "/v1/reports/dakrong-csv")

            // The same values again, as CSV or as JSON: the same answer, nothing changed.
            let again = try await HTTP.post("\(url)?reportId=dakrong-csv&revision=1", token: token, csv: csv)
            #expect(again.status == 201 && again.header("DX-Replayed") == "true", "\(again.text)")
            #expect(again.text == first.text)
            let asJSON = try await HTTP.post(url, token: token, json: [
                "reportId": "dakrong-csv", "revision": 1, "period": "2023",
                "observations": [
                    ["unit": Self.moO, "element": "households_total", "value": 950],
                    ["unit": Self.krongKlang, "element": "households_with_fibre", "value": 1800],
                    ["unit": Self.krongKlang, "element": "households_total", "value": 3100],
                ],
            ])
            #expect(asJSON.status == 201 && asJSON.header("DX-Replayed") == "true", "\(asJSON.text)")

            // Revision 2 in report_id/revision columns, unit and period defaults from the query.
            let revised = "report_id,revision,element,value\ndakrong-csv,2,households_total,3150\ndakrong-csv,2,households_with_fibre,1900\n"
            let second = try await HTTP.post("\(url)?unit=\(Self.krongKlang)&period=2023", token: token, csv: revised)
            #expect(second.status == 201, "\(second.text)")
            #expect(try second.json()["withdrawn"] as? Int == 1, "Mò Ó's value is withdrawn: \(second.text)")
            let values = try await pipeline.withAdmin { db in
                var rows: [String] = []
                for try await (unit, element, value) in try await db.query(
                    "SELECT unit, element, value::text FROM ingest.report_values WHERE report_id = 'dakrong-csv' ORDER BY unit, element"
                ).decode((String, String, String).self) { rows.append("\(unit) \(element) \(value)") }
                return rows
            }
            #expect(values == ["old-19555 households_total 3150", "old-19555 households_with_fibre 1900"])

            // Revision 1 again, now lower than the accepted one: refused with the reason.
            let lower = try await HTTP.post("\(url)?reportId=dakrong-csv&revision=1", token: token, csv: csv)
            #expect(isProblem(lower, 409), "\(lower.text)")
            #expect(try lower.json()["detail"] as? String == "revision 1 of report dakrong-csv is older than the accepted revision 2; a lower revision never replaces a higher one")
            // Revision 2 with other values: a conflict, not a silent overwrite.
            let conflicting = try await HTTP.post("\(url)?unit=\(Self.krongKlang)&period=2023&reportId=dakrong-csv&revision=2", token: token,
                                                  csv: "element,value\nhouseholds_total,1\n")
            #expect(isProblem(conflicting, 409), "\(conflicting.text)")

            // An id with a reserved character, percent-encoded in the path.
            let colon = try await HTTP.post("\(url)?reportId=dakrong:2023&revision=1", token: token, csv: csv)
            #expect(colon.status == 201, "\(colon.text)")
            #expect(try await HTTP.get("\(url)/dakrong%3A2023", token: token).status == 200)
            #expect(try await HTTP.get("\(url)/dakrong:2023", token: token).status == 200)

            let status = try await HTTP.get("\(url)/dakrong-csv", token: token)
            #expect(status.status == 200)
            #expect(try status.json()["revision"] as? Int == 2)
            #expect(try status.json()["revisions"] as? [Int] == [1, 2])
        }
    }

    @Test("every problem of every row is reported with its line, field and reason; nothing of a rejected report is written; partial acceptance keeps the valid rows")
    func perRowValidation() async throws {
        try await withPipeline("rows", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: Self.district)
            let url = "\(pipeline.ingestURL)/v1/reports"
            let csv = """
                unit,period,element,value
                \(Self.krongKlang),2024,households_total,1200
                old-99999,2024-13,no_such_element,-5
                \(Self.krongKlang),2024,households_with_fibre,NaN
                \(Self.krongKlang),2024,households_with_computer,Infinity
                \(Self.krongKlang),2024,households_with_smartphone,"1,5"
                \(Self.krongKlang),2024-03,internet_users,12
                \(Self.krongKlang),2027,mobile_subscribers,12
                \(Self.krongKlang),2024,households_with_fibre_rate,120
                \(Self.krongKlang),2024,villages_total,2.5
                \(Self.krongKlang),2024,adults_with_smartphone,
                \(Self.moO),2024,households_total,100
                \(Self.moO),2024,households_with_fibre,101
                \(Self.krongKlang),2026,households_total,5
                \(Self.krongKlang),2024,households_total,1300

                """
            let rejected = try await HTTP.post("\(url)?reportId=rows-csv&revision=1", token: token, csv: csv)
            #expect(isProblem(rejected, 422), "\(rejected.text)")
            let errors = try rowErrors(rejected)
            func at(_ line: Int) -> [String] { errors.filter { $0.line == line }.map { "\($0.field): \($0.reason)" } }
            #expect(at(2).isEmpty)
            // Line 3: four problems, one per field.
            #expect(Set(errors.filter { $0.line == 3 }.map(\.field)) == ["unit", "period", "element", "value"], "\(at(3))")
            #expect(at(3).contains("value: a negative value (-5) cannot be a count or a rate"))
            #expect(at(4) == ["value: 'NaN' is not a finite number"])
            #expect(at(5) == ["value: 'Infinity' is not a finite number"])
            #expect(at(6) == ["value: '1,5' is not a number (use a dot for decimals and no thousands separators)"])
            #expect(at(7) == ["period: internet_users is reported per year, not per month (period 2024-03)"])
            #expect(Set(errors.filter { $0.line == 8 }.map(\.field)) == ["period", "unit"] && at(8).contains { $0.contains("period 2027 has not started yet") }, "\(at(8))")
            #expect(at(9) == ["value: a percentage above 100 (120)"])
            #expect(at(10) == ["value: villages_total is a count; 2.5 is not a whole number"])
            #expect(at(11) == ["value: value is missing"])
            #expect(at(13) == ["value: households_with_fibre (101) is above households_total (100, line 12) for old-19558 2024"])
            // 2026 ends after 30 June 2025: the pre-2025 commune no longer existed.
            #expect(at(14).count == 1 && at(14)[0].hasPrefix("unit: Thị trấn Krông Klang (old-19555) did not exist at the end of 2026"), "\(at(14))")
            #expect(at(15) == ["element: households_total for old-19555 2024 is given twice (first on line 2)"])
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.report_values WHERE report_id = 'rows-csv'") == 0)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.reports WHERE report_id = 'rows-csv'") == 0)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox") == 0)

            // The same in JSON: positions in the array are the lines, with JSON pointers.
            let json = try await HTTP.post(url, token: token, json: [
                "reportId": "rows-json", "revision": 1, "unit": Self.krongKlang, "period": "2024",
                "observations": [
                    ["element": "households_total", "value": 10],
                    ["element": "households_with_fibre", "value": "NaN"],
                    ["unit": "nowhere", "element": "households_with_computer", "value": true],
                    42,
                ],
            ])
            #expect(isProblem(json, 422), "\(json.text)")
            let jsonErrors = try json.json()["errors"] as? [[String: Any]] ?? []
            #expect(jsonErrors.map { "\($0["line"]!) \($0["field"]!) \($0["pointer"]!)" } == [
                "2 value /observations/1/value", "3 unit /observations/2/unit", "3 value /observations/2/value", "4 observation /observations/3",
            ])

            // Partial acceptance: the valid rows go in, the rejected ones come back.
            let partial = try await HTTP.post("\(url)?reportId=rows-csv&revision=1&partial=true", token: token, csv: csv)
            #expect(partial.status == 201, "\(partial.text)")
            let receipt = try partial.json()
            #expect(receipt["observations"] as? Int == 2)
            #expect(Set((receipt["rejected"] as? [[String: Any]] ?? []).compactMap { $0["line"] as? Int }) == Set(3...11).union([13, 14, 15]))
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.report_values WHERE report_id = 'rows-csv'") == 2)
            let partialJSON = try await HTTP.post(url, token: token, json: [
                "reportId": "rows-json", "revision": 1, "partial": true, "unit": Self.krongKlang, "period": "2024",
                "observations": [["element": "households_total", "value": 10], ["element": "households_with_fibre", "value": -1]],
            ])
            #expect(partialJSON.status == 201, "\(partialJSON.text)")
            #expect(try (partialJSON.json()["rejected"] as? [Any])?.count == 1)
            // Partial acceptance with nothing valid is still a 422.
            let nothing = try await HTTP.post("\(url)?reportId=rows-none&revision=1&partial=true", token: token, csv: "unit,period,element,value\nx,2024,y,1\n")
            #expect(isProblem(nothing, 422), "\(nothing.text)")
        }
    }

    @Test("malformed bodies: 400, 413, 415 problem documents, never a 5xx")
    func malformedBodies() async throws {
        try await withPipeline("bodies", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "VN")
            let url = "\(pipeline.ingestURL)/v1/reports"
            let header = "unit,period,element,value\n"

            let unclosed = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, csv: header + "VN,2024,households_total,\"12\n")
            #expect(try isProblem(unclosed, 400) && (rowErrors(unclosed)).map(\.line) == [2], "\(unclosed.text)")
            let noColumn = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, csv: "unit,element,value\nVN,households_total,1\n")
            #expect(try isProblem(noColumn, 400) && (rowErrors(noColumn)).map(\.field) == ["period"], "\(noColumn.text)")
            let noID = try await HTTP.post(url, token: token, csv: header + "VN,2024,households_total,1\n")
            #expect(try isProblem(noID, 422) && Set(rowErrors(noID).map(\.field)) == ["reportId", "revision"], "\(noID.text)")
            let badRevision = try await HTTP.post("\(url)?reportId=b1&revision=0", token: token, csv: header + "VN,2024,households_total,1\n")
            #expect(isProblem(badRevision, 422), "\(badRevision.text)")
            let twoReports = try await HTTP.post(url, token: token, csv: "report_id,revision,unit,period,element,value\na,1,VN,2024,households_total,1\nb,1,VN,2024,villages_total,1\n")
            #expect(try isProblem(twoReports, 422) && (rowErrors(twoReports)).map(\.line) == [3], "\(twoReports.text)")
            let tooManyFields = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, csv: header + "VN,2024,households_total,1,5\n")
            #expect(try isProblem(tooManyFields, 422) && (rowErrors(tooManyFields)).map(\.field) == ["row"], "\(tooManyFields.text)")
            let empty = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, csv: "")
            #expect(isProblem(empty, 400), "\(empty.text)")
            let badPartial = try await HTTP.post("\(url)?reportId=b1&revision=1&partial=maybe", token: token, csv: header)
            #expect(isProblem(badPartial, 400), "\(badPartial.text)")

            // Invalid UTF-8 (Latin-1 "Đắk"), JSON that is not JSON, NaN as a bare JSON token.
            var latin1 = Array((header + "VN,2024,households_total,1\n").utf8)
            latin1.append(contentsOf: [0xD0, 0xE5, 0x6B, 0x0A])
            let notUTF8 = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, body: latin1, contentType: "text/csv")
            #expect(try isProblem(notUTF8, 400) && (rowErrors(notUTF8)).map(\.line) == [3], "\(notUTF8.text)")
            let notJSON = try await HTTP.post(url, token: token, body: Array("{\"reportId\": ".utf8))
            #expect(isProblem(notJSON, 400), "\(notJSON.text)")
            let bareNaN = try await HTTP.post(url, token: token, body: Array("{\"reportId\":\"x\",\"revision\":1,\"observations\":[{\"unit\":\"VN\",\"period\":\"2024\",\"element\":\"households_total\",\"value\":NaN}]}".utf8))
            #expect(isProblem(bareNaN, 400), "\(bareNaN.text)")
            let huge = try await HTTP.post(url, token: token, body: Array("{\"reportId\":\"x\",\"revision\":1,\"observations\":[{\"unit\":\"VN\",\"period\":\"2024\",\"element\":\"households_total\",\"value\":1e999999}]}".utf8))
            #expect(huge.status == 400 || huge.status == 422, "\(huge.text)")
            let deep = try await HTTP.post(url, token: token, body: Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8))
            #expect(isProblem(deep, 400), "\(deep.text)")
            let array = try await HTTP.post(url, token: token, body: Array("[]".utf8))
            #expect(isProblem(array, 400), "\(array.text)")
            let missing = try await HTTP.post(url, token: token, body: Array("{}".utf8))
            #expect(try isProblem(missing, 422) && Set(rowErrors(missing).map(\.field)) == ["reportId", "revision", "observations"], "\(missing.text)")
            let nulID = try await HTTP.post(url, token: token, json: ["reportId": "a\u{0}b", "revision": 1, "observations": []])
            #expect(isProblem(nulID, 422), "\(nulID.text)")

            // Wrong media types.
            let form = try await HTTP.post(url, token: token, body: Array("a=b".utf8), contentType: "application/x-www-form-urlencoded")
            #expect(isProblem(form, 415), "\(form.text)")
            let latinCharset = try await HTTP.post("\(url)?reportId=b1&revision=1", token: token, body: Array(header.utf8), contentType: "text/csv; charset=iso-8859-1")
            #expect(isProblem(latinCharset, 415), "\(latinCharset.text)")
            let noType = try await HTTP.send("POST", url, token: token, body: Array("{}".utf8), contentType: nil)
            #expect(isProblem(noType, 415), "\(noType.text)")
            let eventsAsJSON = try await HTTP.post("\(pipeline.ingestURL)/v1/events", token: token, body: Array("{}".utf8))
            #expect(isProblem(eventsAsJSON, 415), "\(eventsAsJSON.text)")

            // Status of reports that do not exist, or whose id could never be one.
            for id in ["nope", "a%00b", "%C3%28", String(repeating: "x", count: 300)] {
                let status = try await HTTP.get("\(url)/\(id)", token: token)
                #expect(isProblem(status, 404), "\(id): \(status.text)")
            }
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.outbox") == 0)
        }
    }

    @Test("limits: body size and rows (413), rate per token (429 with Retry-After), all as documented")
    func limits() async throws {
        try await withPipeline("limits", services: []) { pipeline in
            try await pipeline.start([Pipeline.ingest], extraEnvironment: [
                "DX_MAX_BODY_BYTES": "2048", "DX_MAX_ROWS": "5", "DX_RATE_LIMIT_PER_MINUTE": "1", "DX_RATE_BURST": "3",
            ])
            let url = pipeline.ingestURL
            // Each token has a bucket of its own: three requests each.
            let sizeToken = try await pipeline.token(unit: "VN")
            let big = try await HTTP.post("\(url)/v1/reports?reportId=big&revision=1", token: sizeToken,
                                          csv: "unit,period,element,value\n" + String(repeating: "VN,2024,households_total,1\n", count: 100))
            #expect(isProblem(big, 413), "\(big.text)")
            let rows = try await HTTP.post("\(url)/v1/reports?reportId=rows&revision=1", token: sizeToken,
                                           csv: "unit,period,element,value\n" + ["households_total", "villages_total", "communes_total", "enterprises_total", "smes_total", "population_total"]
                                            .map { "VN,2024,\($0),1\n" }.joined())
            #expect(try isProblem(rows, 413) && (rows.json()["detail"] as? String ?? "").contains("at most 5"), "\(rows.text)")
            let lines = try await HTTP.post("\(url)/v1/events", token: sizeToken, events: (0..<6).map {
                receivedEvent("l-\($0)", unit: "24403", month: .month(2026, 1), online: true)
            })
            #expect(isProblem(lines, 413), "\(lines.text)")

            let rateToken = try await pipeline.token(unit: "VN")
            for i in 0..<3 {
                let response = try await HTTP.post("\(url)/v1/reports?reportId=rate-\(i)&revision=1", token: rateToken, csv: "unit,period,element,value\nVN,2024,households_total,1\n")
                #expect(response.status == 201, "\(response.text)")
            }
            let limited = try await HTTP.post("\(url)/v1/events", token: rateToken, events: [receivedEvent("r-1", unit: "24403", month: .month(2026, 1), online: true)])
            #expect(isProblem(limited, 429), "\(limited.text)")
            let retryAfter = Int(limited.header("Retry-After") ?? "") ?? 0
            #expect((1...60).contains(retryAfter), "Retry-After \(limited.header("Retry-After") ?? "missing")")
            // Reading a report's status is not a write and is not limited.
            #expect(try await HTTP.get("\(url)/v1/reports/rate-0", token: rateToken).status == 200)
            // Other tokens are not affected.
            let otherToken = try await pipeline.token(unit: "VN")
            #expect(try await HTTP.post("\(url)/v1/reports?reportId=rate-x&revision=1", token: otherToken, csv: "unit,period,element,value\nVN,2024,households_total,1\n").status == 201)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.events") == 0)
        }
    }

    @Test("authorisation: 401 without a valid token, 403 outside the token's unit, tokens from the CLI printed once, stored hashed, revocable")
    func authorisation() async throws {
        try await withPipeline("auth", services: [Pipeline.ingest]) { pipeline in
            let url = "\(pipeline.ingestURL)/v1/reports"
            let report: [String: Any] = ["reportId": "auth-1", "revision": 1, "period": "2024",
                                         "observations": [["unit": Self.krongKlang, "element": "households_total", "value": 10]]]
            let none = try await HTTP.post(url, token: nil, json: report)
            #expect(try isProblem(none, 401) && (none.json()["detail"] as? String ?? "").contains("Authorization: Bearer"), "\(none.text)")
            let basic = try await HTTP.send("POST", url, token: nil, body: Array("{}".utf8), contentType: "application/json", headers: [("Authorization", "Basic YTpi")])
            #expect(isProblem(basic, 401), "\(basic.text)")
            let unknown = try await HTTP.post(url, token: "dxp_not-a-real-token", json: report)
            #expect(try isProblem(unknown, 401) && (unknown.json()["detail"] as? String) == "the token is unknown or revoked", "\(unknown.text)")
            #expect(try isProblem(await HTTP.get("\(url)/auth-1", token: nil), 401))
            #expect(try isProblem(await HTTP.post("\(pipeline.ingestURL)/v1/events", token: nil, events: []), 401))

            // A token made by `dx token create`, printed once on standard output.
            let environment = ["DX_POSTGRES_ADMIN_URL": pipeline.database.adminURL]
            let created = try await DXCommand.run(["token", "create", "--unit", Self.moO, "--name", "UBND xã Mò Ó"], environment: environment)
            #expect(created.status == 0, "\(created.stderr)")
            let lines = created.stdout.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("dxp_"), "\(created.stdout)")
            let communeToken = String(lines.first ?? "")
            #expect(created.stderr.contains("shown once"))
            // Only its hash is stored: the secret appears nowhere in the table.
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.tokens WHERE name = 'UBND xã Mò Ó' AND secret_sha256 = sha256('\(communeToken)'::bytea)") == 1)
            #expect(try await count(pipeline, "SELECT count(*) FROM ingest.tokens t WHERE position('\(communeToken)' in t::text) > 0") == 0)
            let listed = try await DXCommand.run(["token", "list"], environment: environment)
            #expect(listed.stdout.contains("UBND xã Mò Ó") && !listed.stdout.contains(communeToken))

            // The commune's token covers the commune, not its neighbour.
            let own = try await HTTP.post(url, token: communeToken, json: ["reportId": "mo-o-2024", "revision": 1, "unit": Self.moO, "period": "2024",
                                                                          "observations": [["element": "households_total", "value": 950]]])
            #expect(own.status == 201, "\(own.text)")
            let neighbour = try await HTTP.post(url, token: communeToken, json: report)
            #expect(isProblem(neighbour, 403), "\(neighbour.text)")
            #expect(try rowErrors(neighbour).map(\.reason) == ["Thị trấn Krông Klang (old-19555) is outside the token's unit Xã Mò Ó (old-19558)"])
            let neighbourEvents = try await HTTP.post("\(pipeline.ingestURL)/v1/events", token: communeToken, events: [
                ["eventId": "x-1", "kind": "fee_paid_online", "unit": Self.krongKlang, "occurredAt": "2024-05-02T08:00:00+07:00"],
            ])
            #expect(isProblem(neighbourEvents, 403), "\(neighbourEvents.text)")
            // The district's token reads the commune's report; another commune's token does not.
            let districtToken = try await pipeline.token(unit: Self.district)
            #expect(try await HTTP.get("\(url)/mo-o-2024", token: districtToken).status == 200)
            let otherCommune = try await pipeline.token(unit: Self.krongKlang)
            #expect(try isProblem(await HTTP.get("\(url)/mo-o-2024", token: otherCommune), 403))
            // A commune's token cannot take over a report id another unit owns.
            let takeover = try await HTTP.post(url, token: otherCommune, json: ["reportId": "mo-o-2024", "revision": 2, "unit": Self.krongKlang, "period": "2024",
                                                                               "observations": [["element": "households_total", "value": 1]]])
            #expect(isProblem(takeover, 403), "\(takeover.text)")

            let revoked = try await DXCommand.run(["token", "revoke", "UBND xã Mò Ó"], environment: environment)
            #expect(revoked.status == 0 && revoked.stdout.contains("revoked 1"), "\(revoked.stdout) \(revoked.stderr)")
            let afterRevoke = try await HTTP.post(url, token: communeToken, json: report)
            #expect(isProblem(afterRevoke, 401), "\(afterRevoke.text)")
            let revokedAgain = try await DXCommand.run(["token", "revoke", "UBND xã Mò Ó"], environment: environment)
            #expect(revokedAgain.status != 0 && revokedAgain.stderr.contains("no live token"), "\(revokedAgain.stderr)")
            let badUnit = try await DXCommand.run(["token", "create", "--unit", "old-0000", "--name", "x"], environment: environment)
            #expect(badUnit.status != 0 && badUnit.stderr.contains("not in the catalog"), "\(badUnit.stderr)")
        }
    }

    @Test("random bodies, headers and queries: every answer is a 4xx problem document or a 2xx, never a 5xx, and the service stays up")
    func noCrashOnAnyInput() async throws {
        try await withPipeline("fuzz", services: []) { pipeline in
            try await pipeline.start([Pipeline.ingest], extraEnvironment: ["DX_RATE_LIMIT_PER_MINUTE": "0"])
            let token = try await pipeline.token(unit: "VN")
            var rng = SeededGenerator(seed: 4_2026)
            let fragments = ["{", "}", "[", "]", "\"", ",", ":", "\n", "\r\n", "NaN", "-Infinity", "1e309", "-0", "0.1", "null", "true",
                             "\"reportId\"", "\"revision\"", "\"observations\"", "\"unit\"", "\"VN\"", "\"value\"", "\"eventId\"", "\"kind\"",
                             "\"dossier_received\"", "\"occurredAt\"", "\"2026-02-30T25:00:00Z\"", "Đắk Lắk", "\u{0}", "\\u0000", "\\ud800",
                             "unit,period,element,value", "VN,2024,households_total,1", "\"\"\"", "﻿", "💥", String(repeating: "9", count: 60)]
            let kinds = ["application/json", "text/csv", "application/x-ndjson", "text/plain", "application/json; charset=utf-16"]
            var statuses: [Int: Int] = [:]
            for i in 0..<240 {
                var body: [UInt8]
                if i % 4 == 0 {
                    body = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                } else {
                    body = Array((0..<Int.random(in: 1...60, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined().utf8)
                }
                let path = ["/v1/reports", "/v1/reports?reportId=f\(i)&revision=1", "/v1/reports?partial=true&reportId=%00&revision=-1", "/v1/events", "/v1/events?partial=true"]
                    .randomElement(using: &rng)!
                let response = try await HTTP.post("\(pipeline.ingestURL)\(path)", token: token, body: body, contentType: kinds.randomElement(using: &rng)!)
                statuses[response.status, default: 0] += 1
                #expect(response.status < 500, "request \(i) to \(path) got \(response.status): \(response.text)")
                if response.status >= 400 { #expect(isProblem(response, response.status), "request \(i): \(response.text)") }
            }
            #expect(statuses.keys.allSatisfy { $0 < 500 }, "\(statuses)")
            #expect(try await HTTP.get("\(pipeline.ingestURL)/health").status == 200)
            #expect(pipeline.service(Pipeline.ingest).isRunning)
        }
    }
}
