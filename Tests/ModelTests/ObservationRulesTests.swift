import DXModel
import Foundation
import Testing

/// `ObservationRules.passes` is the quick answer the ingestion asks for every row; `problems`
/// the one it asks for the reasons. They must never disagree, or a row would be accepted that
/// breaks a rule, or refused with no reason given.
@Suite("The catalog's rules for an observation")
struct ObservationRulesTests {
    static let units: [AdministrativeUnit] = [
        AdministrativeUnit(code: "01", parent: "VN", level: .province, tree: .current, name: "Thành phố Hà Nội", ascii: "thanh pho ha noi", officialCode: "01"),
        AdministrativeUnit(code: "00004", parent: "01", level: .commune, tree: .current, name: "Phường Ba Đình", ascii: "phuong ba dinh",
                           officialCode: "00004", validFrom: Day(year: 2025, month: 7, day: 1)),
        AdministrativeUnit(code: "old-101", parent: "01", level: .district, tree: .pre2025, name: "Quận Ba Đình", ascii: "quan ba dinh",
                           officialCode: "001", validTo: Day(year: 2025, month: 6, day: 30)),
        AdministrativeUnit(code: "old-102", parent: "01", level: .district, tree: .pre2025, name: "Huyện Mê Linh", ascii: "huyen me linh",
                           officialCode: "250", validFrom: Day(year: 2024, month: 3, day: 1), validTo: Day(year: 2025, month: 3, day: 31)),
    ]
    static let elements: [DataElement] = [
        DataElement(code: "households_total", nameVi: "Tổng số hộ gia đình", nameEn: "Households", periodType: .year, aggregation: .last, valueType: .count),
        DataElement(code: "dossiers_received", nameVi: "Số hồ sơ tiếp nhận", nameEn: "Dossiers received", periodType: .month, aggregation: .sum, valueType: .count),
        DataElement(code: "fiber_rate", nameVi: "Tỉ lệ hộ có cáp quang", nameEn: "Fibre rate", periodType: .quarter, aggregation: .last, valueType: .percent),
    ]
    static let periods: [Period] = [2023, 2024, 2025, 2026].flatMap { year in
        [.year(year)] + (1...4).map { .quarter(year, $0) } + (1...12).map { .month(year, $0) }
    }
    static let values: [Quantity] = ["0", "1", "-1", "-0.5", "2.5", "100", "100.000000000001", "101", "99.99", "1234567"].map { Quantity.parse($0)! }
    static let todays: [Day?] = [nil, Day(year: 2025, month: 5, day: 15), Day(year: 2025, month: 12, day: 31), Day(year: 2024, month: 1, day: 1)]

    @Test("a row passes exactly when no rule gives a reason, over every combination")
    func passesAgreesWithProblems() {
        var passed = 0, refused = 0
        for unit in Self.units {
            for element in Self.elements {
                let subject = ObservationRules.Subject(unit: unit, element: element)
                for period in Self.periods {
                    for value in Self.values {
                        for today in Self.todays {
                            let problems = ObservationRules.problems(unit: unit, period: period, element: element, value: value, today: today)
                            let passes = ObservationRules.passes(subject, period: period, value: value, today: today)
                            #expect(passes == problems.isEmpty, "\(unit.code) \(element.code) \(period) \(value) today \(today.map(\.description) ?? "none"): \(problems.map(\.reason))")
                            if passes { passed += 1 } else { refused += 1 }
                        }
                    }
                }
            }
        }
        // Both answers occur often enough for the comparison to mean something.
        #expect(passed > 200)
        #expect(refused > 200)
    }
}
