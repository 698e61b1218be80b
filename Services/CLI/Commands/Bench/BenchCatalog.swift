import DXModel
import Foundation

/// The national-scale load the benchmarks use: every current commune, 40 monthly count elements
/// in 20 numerator/denominator pairs, 20 ratio indicators with targets. The catalog's real units
/// with these synthetic elements, so the load has the shape the issue asks for (all 3,321
/// communes × 40 elements × 12 months) whatever the real catalog's elements are.
enum BenchCatalog {
    static let elementCount = 40

    static func elementCode(_ i: Int) -> String { String(format: "bench_e%02d", i) }
    static func indicatorCode(_ i: Int) -> String { String(format: "bench_ratio_%02d", i) }

    static var elements: [DataElement] {
        (1...elementCount).map { i in
            DataElement(code: elementCode(i), nameVi: "Chỉ tiêu thử nghiệm \(i)", nameEn: "Bench element \(i)",
                        periodType: .month, aggregation: .sum, valueType: .count)
        }
    }

    static var indicators: [Indicator] {
        (1...(elementCount / 2)).map { i in
            Indicator(code: indicatorCode(i), nameVi: "Tỷ lệ thử nghiệm \(i)", nameEn: "Bench ratio \(i)", pillar: Pillar.allCases[i % 3],
                      kind: .ratio, numerator: elementCode(2 * i - 1), denominator: elementCode(2 * i), factor: 100)
        }
    }

    static var targets: [Target] {
        (1...(elementCount / 2)).map { i in
            Target(indicator: indicatorCode(i), year: 2030, value: 70, comparison: .atLeast, source: "benchmark (synthetic)")
        }
    }

    /// The real catalog files with the bench elements, indicators and targets added.
    static func extend(_ files: CatalogFiles) -> CatalogFiles {
        var files = files
        files.elements += elements
        files.indicators += indicators
        files.targets += targets
        return files
    }

    static func communes(_ catalog: Catalog) -> [UnitCode] {
        catalog.units.units.values.filter { $0.tree == .current && $0.level == .commune }.map(\.code).sorted()
    }
}
