/// A service's `/metrics` page (Prometheus text), read as an operator's scraper would.
struct MetricsPage {
    let text: String

    /// The sum of a metric's samples over all its labels, or over those that carry `label`
    /// (`phase="commit"`).
    func total(_ metric: String, label: String? = nil) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(metric) && (label.map($0.contains) ?? true) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

extension ServiceProcess {
    func metrics() async throws -> MetricsPage {
        MetricsPage(text: try await HTTP.get("\(baseURL)/metrics").text)
    }
}
