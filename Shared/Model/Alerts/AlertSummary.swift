import Foundation

/// The one-line Vietnamese and English texts every alert carries, e.g.
/// "Huyện Đa Krông: tỷ lệ hộ gia đình có cáp quang 35,44% — thấp hơn mục tiêu 80% năm 2025".
public enum AlertSummaryText {
    public static func belowTarget(unitName: String, indicator: Indicator, value: Decimal, target: Decimal, targetYear: Int) -> AlertTransition.Summary {
        let unitSymbol = indicator.unit ?? ""
        let vi = "\(unitName): \(lowercasedFirst(indicator.nameVi)) \(VietnameseNumberFormat.format(value))\(unitSymbol) — thấp hơn mục tiêu \(VietnameseNumberFormat.format(target))\(unitSymbol) năm \(targetYear)"
        let en = "\(unitName): \(lowercasedFirst(indicator.nameEn)) \(VietnameseNumberFormat.formatEnglish(value))\(unitSymbol) — below the \(targetYear) target of \(VietnameseNumberFormat.formatEnglish(target))\(unitSymbol)"
        return AlertTransition.Summary(vi: vi, en: en)
    }

    public static func resolved(_ summary: AlertTransition.Summary, unitName: String, indicator: Indicator, value: Decimal?) -> AlertTransition.Summary {
        let unitSymbol = indicator.unit ?? ""
        guard let value else {
            return AlertTransition.Summary(vi: "\(unitName): \(lowercasedFirst(indicator.nameVi)) không còn số liệu — đã đóng cảnh báo",
                                           en: "\(unitName): \(lowercasedFirst(indicator.nameEn)) no longer has data — alert closed")
        }
        return AlertTransition.Summary(
            vi: "\(unitName): \(lowercasedFirst(indicator.nameVi)) \(VietnameseNumberFormat.format(value))\(unitSymbol) — đã đạt mục tiêu",
            en: "\(unitName): \(lowercasedFirst(indicator.nameEn)) \(VietnameseNumberFormat.formatEnglish(value))\(unitSymbol) — target met"
        )
    }

    /// "Tỷ lệ hộ…" → "tỷ lệ hộ…" inside a sentence; acronyms (two capitals) stay as they are.
    static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        let second = text.dropFirst().first
        if let second, second.isUppercase { return text }
        return first.lowercased() + text.dropFirst()
    }
}
