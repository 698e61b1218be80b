import Foundation
import Hummingbird
import Logging
import Prometheus

/// Something `/ready` checks: PostgreSQL answers, Kafka answers.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var check: @Sendable () async throws -> Void

    public init(name: String, check: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.check = check
    }
}

/// `/health` (the process runs), `/ready` (its dependencies answer), `/metrics` (Prometheus).
public enum OperationsRoutes {
    public static func add<Context: RequestContext>(to router: Router<Context>, service: String, checks: [ReadinessCheck], registry: PrometheusCollectorRegistry?) {
        router.get("/health") { _, _ in
            jsonResponse(.ok, ["status": "ok", "service": service])
        }
        router.get("/ready") { _, _ in
            var results: [String: String] = [:]
            var ready = true
            await withTaskGroup(of: (String, String?).self) { group in
                for check in checks {
                    group.addTask {
                        do {
                            try await withTimeout(.seconds(3)) { try await check.check() }
                            return (check.name, nil)
                        } catch {
                            return (check.name, "\(error)")
                        }
                    }
                }
                for await (name, failure) in group {
                    results[name] = failure ?? "ok"
                    if failure != nil { ready = false }
                }
            }
            var body: [String: Any] = ["status": ready ? "ready" : "not ready", "service": service]
            body["checks"] = results
            return jsonResponse(ready ? .ok : .serviceUnavailable, body)
        }
        router.get("/metrics") { _, _ in
            let text = registry?.emitToString() ?? ""
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

public struct TimeoutError: Error, CustomStringConvertible {
    public var description: String { "timed out" }
}

/// Runs `body`, failing with `TimeoutError` if it takes longer than `timeout`.
public func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimeoutError()
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}
