/// A service's `/metrics` page (Prometheus text), read as an operator's scraper would.
struct MetricsPage {
    let text: String

    /// The sum of a metric's samples over all its labels.
    func total(_ metric: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(metric) }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    /// The sum of a metric's samples that carry `label` (`phase="commit"`).
    func total(_ metric: String, label: String) -> Double {
        text.split(separator: "\n").filter { $0.hasPrefix(metric) && $0.contains(label) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }
}

extension ServiceProcess {
    func metrics() async throws -> MetricsPage {
        MetricsPage(text: try await HTTP.get("\(baseURL)/metrics").text)
    }
}
