import DXModel
import DXStore
import Foundation
import Indicators
import Testing

/// The engine's promise at national scale: whatever arrives, in whatever batches, the state
/// dx-indicators builds incrementally equals a full recomputation from what dx-ingest accepted,
/// cell by cell and value by value, exactly.
@Suite("National equivalence: incremental equals full recomputation", .serialized)
struct NationalEquivalenceTests {
    let catalog = TestDatabase.catalogFiles.catalog

    @Test("a random national dataset through dx-ingest and dx-indicators: every commune, revisions, withdrawals, events, direct values at every level, both trees")
    func nationalDataset() async throws {
        let seed = UInt64(Date().timeIntervalSince1970)
        var rng = SeededGenerator(seed: seed)
        let units = catalog.units
        let provinces = units.children(of: .country).sorted()
        let communesByProvince = Dictionary(uniqueKeysWithValues: provinces.map { ($0, units.currentCommunes(of: $0)) })
        let communeCount = communesByProvince.values.map(\.count).reduce(0, +)
        #expect(communeCount == 3_321)
        let oldDistricts = units.units.values.filter { $0.tree == .pre2025 && $0.level == .district }.map(\.code).sorted()
        let oldProvinces = units.units.values.filter { $0.tree == .pre2025 && $0.level == .province }.map(\.code).sorted()

        func yearlyRows(_ unit: UnitCode, _ period: String) -> [[String: Any]] {
            var rows: [[String: Any]] = []
            let households = Int.random(in: 800...9_000, using: &rng)
            let smes = Int.random(in: 5...400, using: &rng)
            rows.append(["unit": unit.rawValue, "period": period, "element": "households_total", "value": households])
            rows.append(["unit": unit.rawValue, "period": period, "element": "households_with_fibre", "value": Int.random(in: 0...households, using: &rng)])
            rows.append(["unit": unit.rawValue, "period": period, "element": "smes_total", "value": smes])
            rows.append(["unit": unit.rawValue, "period": period, "element": "smes_on_digital_platforms", "value": Int.random(in: 0...smes, using: &rng)])
            rows.append(["unit": unit.rawValue, "period": period, "element": "population_total", "value": Int.random(in: 3_000...40_000, using: &rng)])
            // A reported rate with two decimals, weighted by households where the weight is there.
            rows.append(["unit": unit.rawValue, "period": period, "element": "households_with_fibre_rate",
                         "value": Decimal(Int.random(in: 0...10_000, using: &rng)) / 100])
            // Some communes leave some figures out: completeness below 100%.
            return rows.filter { _ in Int.random(in: 0..<10, using: &rng) > 0 }
        }

        // dx-indicators starts once the first revisions are all on Kafka, so it takes them in
        // large batches of many provinces, then applies the rest as it arrives.
        try await withPipeline("national", services: [Pipeline.ingest]) { pipeline in
            let token = try await pipeline.token(unit: "VN")
            var reports: [[String: Any]] = []

            // Every commune of the current tree (in force from 1 July 2025), one report per province.
            for province in provinces {
                let rows = communesByProvince[province]!.flatMap { yearlyRows($0, "2025") }
                reports.append(["reportId": "nat-\(province)-2025", "revision": 1, "observations": rows])
            }
            // Monthly dossiers reported by a share of communes, July to December 2025.
            let monthly = communesByProvince.values.flatMap { $0 }.filter { _ in Int.random(in: 0..<8, using: &rng) == 0 }
            for month in 7...12 {
                let period = Period.month(2025, month).description
                let rows: [[String: Any]] = monthly.flatMap { unit -> [[String: Any]] in
                    let received = Int.random(in: 0...300, using: &rng)
                    return [["unit": unit.rawValue, "period": period, "element": "dossiers_received_total", "value": received],
                            ["unit": unit.rawValue, "period": period, "element": "dossiers_received_online", "value": Int.random(in: 0...received, using: &rng)]]
                }
                reports.append(["reportId": "nat-dossiers-\(period)", "revision": 1, "observations": rows])
            }
            // Directly reported values above the communes: authoritative for their units.
            for (i, province) in provinces.shuffled(using: &rng).prefix(6).enumerated() {
                reports.append(["reportId": "nat-province-\(i)", "revision": 1, "observations": yearlyRows(province, "2025")])
            }
            reports.append(["reportId": "nat-country", "revision": 1, "observations": yearlyRows(.country, "2024")])
            // The pre-2025 tree: communes of a third of the old provinces in 2024, districts in 2023,
            // provinces in 2024, all rolled into their successors at province level.
            for province in oldProvinces.shuffled(using: &rng).prefix(21) {
                let communes = units.units.values.filter { $0.tree == .pre2025 && $0.level == .commune && $0.parent.flatMap { units.units[$0]?.parent } == province }.map(\.code).sorted()
                reports.append(["reportId": "nat-\(province)-2024", "revision": 1, "observations": communes.flatMap { yearlyRows($0, "2024") }])
            }
            var old: [[String: Any]] = []
            for district in oldDistricts.shuffled(using: &rng).prefix(120) { old += yearlyRows(district, "2023") }
            for province in oldProvinces.shuffled(using: &rng).prefix(15) { old += yearlyRows(province, "2024") }
            reports.append(["reportId": "nat-pre2025", "revision": 1, "observations": old])

            // Revisions: a few reports revised once or twice, values changed and some withdrawn.
            var revisions: [[String: Any]] = []
            for report in reports.shuffled(using: &rng).prefix(12) {
                var rows = report["observations"] as! [[String: Any]]
                for revision in 2...Int.random(in: 2...3, using: &rng) {
                    rows = rows.filter { _ in Int.random(in: 0..<20, using: &rng) > 0 }.map { row in
                        var row = row
                        // Numerators and stocks fall; denominators stay, so no numerator exceeds its denominator.
                        if Int.random(in: 0..<4, using: &rng) == 0, let value = row["value"] as? Int,
                           !["households_total", "smes_total", "dossiers_received_total"].contains(row["element"] as! String) {
                            row["value"] = value / 2
                        }
                        return row
                    }
                    revisions.append(["reportId": report["reportId"]!, "revision": revision, "observations": rows])
                }
            }

            func post(_ reports: [[String: Any]]) async throws {
                for report in reports {
                    let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: report)
                    #expect(response.status == 201, "\(report["reportId"]!) r\(report["revision"]!): \(response.text.prefix(500))")
                }
            }
            try await post(reports)
            try await pipeline.waitUntilOutboxPublished(timeout: .seconds(120))
            // Province changes written in chunks of 200 cells while the next provinces are
            // computed (from 4,000 by default: this dataset's batches are smaller).
            try await pipeline.start([Pipeline.indicators], extraEnvironment: ["DX_ENGINE_WRITE_CHUNK_CELLS": "200"])
            try await post(revisions)
            // Dossier events counted into the months, some in cells a report also gives.
            let eventUnits = monthly.prefix(40) + communesByProvince.values.flatMap { $0 }.shuffled(using: &rng).prefix(200)
            let events = (0..<1_200).map { i in
                receivedEvent("nat-ev-\(seed)-\(i)", unit: eventUnits[i % eventUnits.count], month: .month(2025, 7 + i % 6), online: i % 3 != 0)
            }
            for chunk in stride(from: 0, to: events.count, by: 400) {
                try await postEvents(Array(events[chunk..<min(events.count, chunk + 400)]), pipeline: pipeline, token: token)
            }

            let ids = Array(Set(reports.map { $0["reportId"] as! String })).sorted()
            try await pipeline.waitUntilApplied(ids, token: token, timeout: .seconds(600))
            try await pipeline.waitUntilEveryMessageApplied(timeout: .seconds(600), poll: .milliseconds(500))

            // Cell by cell, value by value, against a full recomputation from dx-ingest's records.
            let (mismatches, cells, indicators) = try await pipeline.auditEngine(catalog: catalog)
            #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.count) differences, e.g. \(mismatches.prefix(5))")
            #expect(cells > 3_321 * 5, "the recomputation covers \(cells) cells")
            #expect(indicators > 3_321 * 2, "and \(indicators) indicator values")

            // The operator's command says the same.
            let recompute = try runDX(["recompute", "--source", "ingest"], pipeline: pipeline)
            #expect(recompute.status == 0 && recompute.output.contains("incremental state equals the full recomputation"), "\(recompute.output)")

            // And the backlog's batches were written in chunks: more writes of province changes than batches.
            let metrics = try await pipeline.service(Pipeline.indicators).metrics()
            let writes = metrics.total("dx_engine_province_writes_total")
            let batches = metrics.total("dx_consumer_batches_total")
            #expect(batches > 0 && writes > batches, "\(writes) writes of province changes in \(batches) batches")
            // Each batch with provinces is timed by phase: computing them, then waiting for their last writes.
            let computed = metrics.total(#"dx_engine_batch_phase_seconds_count{phase="compute"}"#)
            let waited = metrics.total(#"dx_engine_batch_phase_seconds_count{phase="write_wait"}"#)
            #expect(computed > 0 && computed <= batches && waited == computed, "\(computed) batches computed, \(waited) waited for, of \(batches)")
            #expect(metrics.total(#"dx_engine_batch_phase_seconds_sum{phase="compute"}"#) > 0)
        }
    }
}
