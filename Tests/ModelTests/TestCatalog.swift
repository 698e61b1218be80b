import DXModel
import Foundation

/// A small two-tree catalog with the shapes that matter: two old provinces merged into one new
/// one, districts that exist only before 1 July 2025, communes in both trees.
enum TestCatalog {
    static let units: [AdministrativeUnit] = {
        func unit(_ code: String, _ parent: String?, _ level: AdministrativeLevel, _ tree: UnitTree, _ name: String,
                  from: String? = nil, to: String? = nil) -> AdministrativeUnit {
            AdministrativeUnit(code: UnitCode(code), parent: parent.map { UnitCode($0) }, level: level, tree: tree, name: name,
                               ascii: name.lowercased(), officialCode: code.replacingOccurrences(of: "old-", with: ""),
                               validFrom: from.flatMap { Day($0) }, validTo: to.flatMap { Day($0) })
        }
        let new = "2025-07-01", old = "2025-06-30"
        return [
            unit("VN", nil, .country, .current, "Việt Nam"),
            unit("01", "VN", .province, .current, "Tỉnh Một"),
            unit("02", "VN", .province, .current, "Tỉnh Hai"),
            unit("01001", "01", .commune, .current, "Xã Một A", from: new),
            unit("01002", "01", .commune, .current, "Xã Một B", from: new),
            unit("01003", "01", .commune, .current, "Xã Một C", from: new),
            unit("02001", "02", .commune, .current, "Xã Hai A", from: new),
            unit("02002", "02", .commune, .current, "Xã Hai B", from: new),
            unit("old-01", "01", .province, .pre2025, "Tỉnh Cũ Một", to: old),
            unit("old-03", "01", .province, .pre2025, "Tỉnh Cũ Ba", to: old),
            unit("old-02", "02", .province, .pre2025, "Tỉnh Cũ Hai", to: old),
            unit("old-101", "old-01", .district, .pre2025, "Huyện Một Một", to: old),
            unit("old-102", "old-01", .district, .pre2025, "Huyện Một Hai", to: old),
            unit("old-301", "old-03", .district, .pre2025, "Huyện Ba Một", to: old),
            unit("old-201", "old-02", .district, .pre2025, "Huyện Hai Một", to: old),
            unit("old-10101", "old-101", .commune, .pre2025, "Xã Cũ 10101", to: old),
            unit("old-10102", "old-101", .commune, .pre2025, "Xã Cũ 10102", to: old),
            unit("old-10201", "old-102", .commune, .pre2025, "Xã Cũ 10201", to: old),
            unit("old-30101", "old-301", .commune, .pre2025, "Xã Cũ 30101", to: old),
            unit("old-20101", "old-201", .commune, .pre2025, "Xã Cũ 20101", to: old),
            unit("old-20102", "old-201", .commune, .pre2025, "Xã Cũ 20102", to: old),
        ]
    }()

    static let elements: [DataElement] = [
        DataElement(code: "households_total", nameVi: "Tổng số hộ", nameEn: "Households", periodType: .year, aggregation: .last, valueType: .count),
        DataElement(code: "households_with_fibre", nameVi: "Số hộ có cáp quang", nameEn: "Households with fibre", periodType: .year, aggregation: .last, valueType: .count),
        DataElement(code: "households_with_fibre_rate", nameVi: "Tỷ lệ hộ có cáp quang", nameEn: "Fibre rate", periodType: .year, aggregation: .last, valueType: .percent, weight: "households_total"),
        DataElement(code: "smartphone_rate", nameVi: "Tỷ lệ điện thoại thông minh", nameEn: "Smartphone rate", periodType: .year, aggregation: .last, valueType: .percent),
        DataElement(code: "dossiers_received", nameVi: "Hồ sơ tiếp nhận", nameEn: "Dossiers received", periodType: .month, aggregation: .sum, valueType: .count),
        DataElement(code: "dossiers_online", nameVi: "Hồ sơ trực tuyến", nameEn: "Online dossiers", periodType: .month, aggregation: .sum, valueType: .count),
        DataElement(code: "villages_with_4g", nameVi: "Thôn có 4G", nameEn: "Villages with 4G", periodType: .quarter, aggregation: .last, valueType: .count),
    ]

    static let indicators: [Indicator] = [
        Indicator(code: "household_fibre_rate", nameVi: "Tỷ lệ hộ gia đình có cáp quang", nameEn: "Households with fibre", pillar: .xaHoiSo,
                  kind: .ratio, numerator: "households_with_fibre", denominator: "households_total", factor: 100),
        Indicator(code: "household_fibre_rate_reported", nameVi: "Tỷ lệ hộ có cáp quang (báo cáo)", nameEn: "Fibre (reported)", pillar: .xaHoiSo,
                  kind: .rate, element: "households_with_fibre_rate"),
        Indicator(code: "dossiers_online_rate", nameVi: "Tỷ lệ hồ sơ trực tuyến", nameEn: "Online dossiers", pillar: .chinhQuyenSo,
                  kind: .ratio, numerator: "dossiers_online", denominator: "dossiers_received", factor: 100),
    ]

    static let targets: [Target] = [
        Target(indicator: "household_fibre_rate", year: 2025, value: 80, comparison: .atLeast, source: "Quyết định 411/QĐ-TTg"),
        Target(indicator: "household_fibre_rate", year: 2030, value: 95, comparison: .atLeast, source: "test"),
    ]

    static let catalog = Catalog(units: units, elements: elements, indicators: indicators, targets: targets)
}

extension Decimal {
    static func d(_ text: String) -> Decimal { ExactDecimal.parse(text)! }
}

extension Quantity {
    static func d(_ text: String) -> Quantity { Quantity.parse(text)! }
}
