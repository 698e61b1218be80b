import Foundation

/// The one-line Vietnamese and English texts every alert carries, e.g.
/// "Huyện Đa Krông: tỷ lệ hộ gia đình có cáp quang 35,44% — thấp hơn mục tiêu 80% năm 2025".
/// Numbers in the Vietnamese text use the Vietnamese format (35,44; 12.002).
public struct AlertText: Sendable {
    public var unitName: String
    public var indicator: Indicator
    public var period: Period

    public init(unitName: String, indicator: Indicator, period: Period) {
        self.unitName = unitName
        self.indicator = indicator
        self.period = period
    }

    typealias Summary = AlertTransition.Summary

    private var symbol: String { indicator.unit ?? "" }
    private var nameVi: String { Self.lowercasedFirst(indicator.nameVi) }
    private var nameEn: String { Self.lowercasedFirst(indicator.nameEn) }
    private func vi(_ value: Quantity) -> String { VietnameseNumberFormat.format(value) + symbol }
    private func en(_ value: Quantity) -> String { VietnameseNumberFormat.formatEnglish(value) + symbol }
    /// "điểm phần trăm" for a difference of percentages, nothing for other units.
    private var pointsVi: String { symbol == "%" ? " điểm phần trăm" : "" }
    private var pointsEn: String { symbol == "%" ? " percentage points" : "" }

    public func belowTarget(value: Quantity, target: Quantity, targetYear: Int) -> AlertTransition.Summary {
        Summary(vi: "\(unitName): \(nameVi) \(vi(value)) — thấp hơn mục tiêu \(vi(target)) năm \(targetYear)",
                en: "\(unitName): \(nameEn) \(en(value)) — below the \(targetYear) target of \(en(target))")
    }

    public func offTrack(value: Quantity, projected: Quantity, target: Quantity, targetYear: Int, periods: Int) -> AlertTransition.Summary {
        Summary(vi: "\(unitName): \(nameVi) \(vi(value)) \(Self.periodVi(period)) — theo xu hướng \(periods) kỳ gần nhất, dự kiến năm \(targetYear) đạt \(vi(projected)), không đạt mục tiêu \(vi(target))",
                en: "\(unitName): \(nameEn) \(en(value)) in \(Self.periodEn(period)) — the trend of the last \(periods) periods reaches \(en(projected)) by \(targetYear), missing the target of \(en(target))")
    }

    public func regression(value: Quantity, previous: Quantity, previousPeriod: Period) -> AlertTransition.Summary {
        let change = value - previous
        let amountVi = VietnameseNumberFormat.format(change.magnitude) + pointsVi
        let amountEn = VietnameseNumberFormat.formatEnglish(change.magnitude) + pointsEn
        return Summary(
            vi: "\(unitName): \(nameVi) \(vi(value)) \(Self.periodVi(period)) — \(change < 0 ? "giảm" : "tăng") \(amountVi) so với \(Self.periodVi(previousPeriod)) (\(vi(previous)))",
            en: "\(unitName): \(nameEn) \(en(value)) in \(Self.periodEn(period)) — \(change < 0 ? "down" : "up") \(amountEn) from \(en(previous)) in \(Self.periodEn(previousPeriod))")
    }

    public func aboveMaximum(value: Quantity, maximum: Quantity, numerator: Quantity?, denominator: Quantity?) -> AlertTransition.Summary {
        var fractionVi = "", fractionEn = ""
        if let numerator, let denominator {
            fractionVi = " (\(VietnameseNumberFormat.format(numerator))/\(VietnameseNumberFormat.format(denominator)))"
            fractionEn = " (\(VietnameseNumberFormat.formatEnglish(numerator))/\(VietnameseNumberFormat.formatEnglish(denominator)))"
        }
        return Summary(vi: "\(unitName): \(nameVi) \(vi(value)) \(Self.periodVi(period)) — vượt quá \(vi(maximum)), số liệu cần kiểm tra\(fractionVi)",
                       en: "\(unitName): \(nameEn) \(en(value)) in \(Self.periodEn(period)) — above \(en(maximum)), check the figures\(fractionEn)")
    }

    public func negative(_ negatives: [(String, Quantity)]) -> AlertTransition.Summary {
        let namesVi = ["value": "giá trị", "numerator": "tử số", "denominator": "mẫu số"]
        let vi = negatives.map { "\(namesVi[$0.0] ?? $0.0) \(VietnameseNumberFormat.format($0.1))" }.joined(separator: ", ")
        let en = negatives.map { "\($0.0) \(VietnameseNumberFormat.formatEnglish($0.1))" }.joined(separator: ", ")
        return Summary(vi: "\(unitName): \(nameVi) \(Self.periodVi(period)) có số âm (\(vi)) — số liệu cần kiểm tra",
                       en: "\(unitName): \(nameEn) in \(Self.periodEn(period)) has a negative count (\(en)) — check the figures")
    }

    public func implausible(value: Quantity, median: Quantity, z: Quantity, periods: Int) -> AlertTransition.Summary {
        let zRounded = z.magnitude.rounded(scale: 1)
        return Summary(
            vi: "\(unitName): \(nameVi) \(vi(value)) \(Self.periodVi(period)) — bất thường so với \(periods) kỳ trước của đơn vị (trung vị \(vi(median)), độ lệch chuẩn hóa \(VietnameseNumberFormat.format(zRounded, fractionDigits: 1)) theo MAD)",
            en: "\(unitName): \(nameEn) \(en(value)) in \(Self.periodEn(period)) — implausible against the unit's previous \(periods) periods (median \(en(median)), robust z-score \(VietnameseNumberFormat.formatEnglish(zRounded, fractionDigits: 1)))")
    }

    /// The text of the resolved transition: the condition cleared, or the value is gone.
    public func cleared(rule: AlertRule, value: Quantity?) -> AlertTransition.Summary {
        guard let value else {
            return Summary(vi: "\(unitName): \(nameVi) \(Self.periodVi(period)) không còn số liệu — đã đóng cảnh báo",
                           en: "\(unitName): \(nameEn) in \(Self.periodEn(period)) no longer has data — alert closed")
        }
        if rule.kind == .belowTarget {
            return Summary(vi: "\(unitName): \(nameVi) \(vi(value)) — đã đạt mục tiêu",
                           en: "\(unitName): \(nameEn) \(en(value)) — target met")
        }
        return Summary(vi: "\(unitName): \(nameVi) \(vi(value)) \(Self.periodVi(period)) — hết cảnh báo “\(Self.lowercasedFirst(rule.nameVi))”",
                       en: "\(unitName): \(nameEn) \(en(value)) in \(Self.periodEn(period)) — \(Self.lowercasedFirst(rule.nameEn)) cleared")
    }

    public static func missing(unitName: String, elementVi: String, elementEn: String, period: Period, due: Day) -> AlertTransition.Summary {
        Summary(vi: "\(unitName): chưa có số liệu “\(lowercasedFirst(elementVi))” \(periodVi(period)) — quá hạn báo cáo ngày \(dayVi(due))",
                en: "\(unitName): no data for “\(lowercasedFirst(elementEn))” for \(periodEn(period)) — the report was due on \(due)")
    }

    public static func received(unitName: String, elementVi: String, elementEn: String, period: Period) -> AlertTransition.Summary {
        Summary(vi: "\(unitName): đã có số liệu “\(lowercasedFirst(elementVi))” \(periodVi(period))",
                en: "\(unitName): “\(lowercasedFirst(elementEn))” for \(periodEn(period)) received")
    }

    /// "năm 2023", "quý 4/2023", "tháng 10/2023".
    public static func periodVi(_ period: Period) -> String {
        switch period.type {
        case .year: "năm \(period.year)"
        case .quarter: "quý \(period.index)/\(period.year)"
        case .month: "tháng \(period.index)/\(period.year)"
        }
    }

    /// "2023", "Q4 2023", "October 2023".
    public static func periodEn(_ period: Period) -> String {
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return switch period.type {
        case .year: "\(period.year)"
        case .quarter: "Q\(period.index) \(period.year)"
        case .month: "\(months[period.index - 1]) \(period.year)"
        }
    }

    /// "10/11/2026": day/month/year as Vietnamese readers write dates.
    public static func dayVi(_ day: Day) -> String {
        "\(day.day.zeroPadded(2))/\(day.month.zeroPadded(2))/\(day.year.zeroPadded(4))"
    }

    /// "Tỷ lệ hộ…" → "tỷ lệ hộ…" inside a sentence; acronyms (two capitals) stay as they are.
    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        let second = text.dropFirst().first
        if let second, second.isUppercase { return text }
        return first.lowercased() + text.dropFirst()
    }
}
