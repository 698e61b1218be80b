import DXModel

/// Random observations for a dozen communes of one province: several reports per cell, with ids
/// holding what JSON and COPY escape, withdrawals, deltas, and values with decimals. For tests
/// that write a province's state and read it back.
struct RandomProvinceInputs {
    let province: UnitCode
    private let communes: [UnitCode]
    private let elements: [String]
    private var rng: SeededGenerator
    private var sequence: Int64 = 0
    private let reportIDs = ["r-1", "báo-cáo \"Xã\" 2", #"back\slash"#, "tab\tid", "r-9"]

    /// Nil when the catalog has too few communes or monthly elements.
    init?(catalog: Catalog, seed: UInt64) {
        let units = catalog.units
        guard let province = units.children(of: .country).sorted().first else { return nil }
        self.province = province
        communes = Array(units.children(of: province, validAt: .month(2025, 8)).sorted().prefix(12))
        elements = catalog.elements.values.filter { $0.periodType == .month }.map(\.code).sorted()
        guard communes.count == 12, elements.count >= 4 else { return nil }
        rng = SeededGenerator(seed: seed)
    }

    mutating func next(_ count: Int) -> [ObservationInput] {
        (0..<count).map { _ in
            sequence += 1
            let key = CellKey(unit: communes.randomElement(using: &rng)!, period: .month(2025, Int.random(in: 7...12, using: &rng)),
                              element: elements.randomElement(using: &rng)!)
            let report = reportIDs.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: return .retracted(key, reportID: report, revision: Int.random(in: 1...9, using: &rng), sequence: sequence)
            case 1: return .delta(key, Quantity(Int.random(in: 1...5, using: &rng)))
            default:
                let value = Quantity.parse("\(Int.random(in: 0...90_000, using: &rng)).\(Int.random(in: 0...99, using: &rng))")!
                return .reported(key, ReportedValue(reportID: report, revision: Int.random(in: 1...9, using: &rng), sequence: sequence, value: value))
            }
        }
    }
}
