import Metrics
import Prometheus

/// Prometheus metrics for `/metrics`: bootstrapped once per process, at start.
public enum MetricsSetup {
    public static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
