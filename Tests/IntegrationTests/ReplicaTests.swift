import DXModel
import Foundation
import Testing

/// Scaling out is running more replicas of a service (DESIGN.md): the group splits the
/// partitions, so each replica computes its own provinces, and the country, which every
/// province feeds, is computed by whichever replica applies a batch.
@Suite("Replicas of dx-indicators", .serialized)
struct ReplicaTests {
    let catalog = TestDatabase.catalogFiles.catalog

    @Test("two dx-indicators replicas share the provinces; the country's values, which both write, equal a full recomputation")
    func twoReplicas() async throws {
        let seed = UInt64(Date().timeIntervalSince1970)
        var rng = SeededGenerator(seed: seed)
        let units = catalog.units
        let provinces = units.children(of: .country).filter { units[$0]?.tree == .current }.sorted()
        let communes = Dictionary(uniqueKeysWithValues: provinces.map { ($0, units.currentCommunes(of: $0)) })

        try await withPipeline("replicas", services: [Pipeline.ingest, Pipeline.indicators]) { pipeline in
            try await pipeline.startReplica(of: Pipeline.indicators, as: "dx-indicators-2")
            let second = pipeline.service("dx-indicators-2")
            let deadline = ContinuousClock.now + .seconds(60)
            while !second.log().contains("partitions assigned") || !second.log().contains("dx.observations.v1[") {
                guard ContinuousClock.now < deadline else { throw TestFailure("the second replica got no partitions within 60 s:\n\(second.log())") }
                try await Task.sleep(for: .milliseconds(200))
            }
            let token = try await pipeline.token(unit: "VN")

            // Rounds in which every province reports again for the same months: each replica changes
            // its provinces' values, so each finds the country changed by the other since its last pass.
            var ids: [String] = []
            for round in 0..<4 {
                var roundIDs: [String] = []
                for province in provinces {
                    var rows: [[String: Any]] = []
                    for unit in communes[province]!.shuffled(using: &rng).prefix(3) {
                        for month in 7...9 {
                            let received = Int.random(in: 10...300, using: &rng)
                            rows.append(["unit": unit.rawValue, "period": Period.month(2025, month).description,
                                         "element": "dossiers_received_total", "value": received])
                            rows.append(["unit": unit.rawValue, "period": Period.month(2025, month).description,
                                         "element": "dossiers_received_online", "value": Int.random(in: 0...received, using: &rng)])
                        }
                    }
                    let id = "replicas-\(province)-\(round)"
                    let response = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token,
                                                       json: ["reportId": id, "revision": 1, "observations": rows])
                    #expect(response.status == 201, "\(id): \(response.text.prefix(300))")
                    roundIDs.append(id)
                }
                try await pipeline.waitUntilApplied(roundIDs, token: token, timeout: .seconds(180))
                ids += roundIDs
            }
            try await pipeline.waitUntilEveryMessageApplied(timeout: .seconds(120))

            // Both replicas applied observations.
            for name in [Pipeline.indicators, "dx-indicators-2"] {
                let metrics = try await pipeline.service(name).metrics()
                let applied = metrics.total("dx_engine_observations_applied_total")
                #expect(applied > 0, "\(name) applied no observations:\n\(metrics.text.prefix(2_000))")
            }
            let (mismatches, cells, _) = try await pipeline.auditEngine(catalog: catalog)
            #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.count) differences, e.g. \(mismatches.prefix(5))")
            #expect(cells > provinces.count * 3 * 3 * 2, "the recomputation covers \(cells) cells")
            let country = try await count(pipeline, """
                SELECT count(*)::int FROM engine.cells WHERE unit = 'VN' AND period IN ('2025-07', '2025-08', '2025-09')
                """)
            #expect(country == 6, "the country has its months' two elements")
        }
    }
}
