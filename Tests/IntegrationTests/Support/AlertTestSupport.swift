import Alerting
import DXKafka
import DXModel
import DXStore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A clock the test sets: the missing-report timer and expiries run at chosen instants.
final class ManualClock: AlertClock {
    private let current: Mutex<Date>

    init(_ date: Date) {
        current = Mutex(date)
    }

    func now() -> Date { current.withLock { $0 } }

    func set(_ date: Date) { current.withLock { $0 = date } }
}

/// Indicator values as dx-indicators would publish them, built from constructed series and
/// produced straight onto `dx.indicator-values.v1`: dx-alerts on its own, with exactly the input
/// a rule needs.
struct IndicatorValues {
    let catalog: Catalog
    let topics: TopicNames
    let producer: KafkaProducer

    init(pipeline: Pipeline, catalog: Catalog) throws {
        self.catalog = catalog
        topics = pipeline.topics
        producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: pipeline.brokers, clientID: "test-values")),
                                     logger: TestEnvironment.logger("values"))
    }

    /// One change: `value` nil withdraws it. Target and gap as the engine computes them.
    func change(_ unit: UnitCode, _ period: Period, _ value: String?, indicator: String = "household_fibre_rate",
                numerator: String? = nil, denominator: String? = nil, completeness: String = "1") -> IndicatorValueChange {
        let current = value.flatMap { Quantity.parse($0) }.map { value -> IndicatorValue in
            let target = catalog.target(for: indicator, period: period)
            return IndicatorValue(value: value, numerator: numerator.flatMap { Quantity.parse($0) } ?? value,
                                  denominator: denominator.flatMap { Quantity.parse($0) } ?? 100, completeness: Quantity.parse(completeness)!,
                                  target: target?.value, targetYear: target?.year, gap: target.map { $0.value - value },
                                  meetsTarget: target.map { $0.isMet(by: value) })
        }
        return IndicatorValueChange(unit: unit, unitName: catalog.units[unit]?.name ?? unit.rawValue, level: catalog.units[unit]?.level ?? .commune,
                                    period: period, indicator: indicator, current: current, previous: nil)
    }

    /// Publishes the changes, one message per province, in order; returns the message ids.
    @discardableResult
    func publish(_ changes: [IndicatorValueChange]) async throws -> [UUID] {
        var byProvince: [(UnitCode, [IndicatorValueChange])] = []
        for change in changes {
            let province = catalog.units.province(of: change.unit) ?? change.unit
            if let index = byProvince.firstIndex(where: { $0.0 == province }) { byProvince[index].1.append(change) } else { byProvince.append((province, [change])) }
        }
        var messages: [KafkaOutgoingMessage] = []
        var ids: [UUID] = []
        for (province, values) in byProvince {
            let envelope = Envelope(schema: IndicatorValueBatch.schema, source: "test", data: IndicatorValueBatch(province: province, values: values))
            ids.append(envelope.id)
            messages.append(KafkaOutgoingMessage(topic: topics.indicatorValues, key: province.rawValue, value: try MessageCoding.encode(envelope)))
        }
        for report in await producer.send(messages) {
            if let error = report.error { throw error }
        }
        return ids
    }

    func close() async {
        await producer.shutdown()
    }
}

/// Reads alerting tables as the admin.
enum AlertRows {
    /// fingerprint → status of every alert.
    static func statuses(_ pipeline: Pipeline) async throws -> [String: String] {
        try await pipeline.withAdmin { db in
            var result: [String: String] = [:]
            for try await (fingerprint, status) in try await db.query("SELECT fingerprint, status FROM alerting.alerts").decode((String, String).self) {
                result[fingerprint] = status
            }
            return result
        }
    }

    /// Waits until the alert has the status.
    static func wait(_ pipeline: Pipeline, _ fingerprint: String, status: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = try await statuses(pipeline)[fingerprint]
            if current == status { return }
            guard ContinuousClock.now < deadline else {
                throw TestFailure("alert \(fingerprint) is \(current ?? "absent"), not \(status), after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// An HTTP server in the test process that records what webhooks POST and answers with the
/// statuses it is told to (then 200).
final class WebhookServer: Sendable {
    struct Received: Sendable {
        var path: String
        var body: [UInt8]
        var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }
    }

    private final class State: Sendable {
        let requests = Mutex<(received: [Received], failuresLeft: [String: [Int]])>(([], [:]))
        let port = Mutex<Int?>(nil)
        let task = Mutex<Task<Void, Never>?>(nil)
    }

    private let state = State()

    /// Starts listening on a free port; `failures` per path are answered in order before 200s.
    init(failures: [String: [Int]] = [:]) async throws {
        let state = self.state
        state.requests.withLock { $0.failuresLeft = failures }
        let router = Router()
        router.post("**") { request, context -> Response in
            let body = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let path = request.uri.path
            let status = state.requests.withLock { requests -> Int in
                requests.received.append(Received(path: path, body: Array(buffer: body)))
                if var left = requests.failuresLeft[path], !left.isEmpty {
                    let status = left.removeFirst()
                    requests.failuresLeft[path] = left
                    return status
                }
                return 200
            }
            return Response(status: .init(code: status))
        }
        var logger = Logger(label: "webhook-server")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in state.port.withLock { $0 = channel.localAddress?.port } }, logger: logger)
        state.task.withLock { $0 = Task { try? await app.run() } }
        let deadline = ContinuousClock.now + .seconds(10)
        while state.port.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline else { throw TestFailure("the webhook server did not start") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    var port: Int { state.port.withLock { $0 ?? 0 } }
    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
    var received: [Received] { state.requests.withLock { $0.received } }

    func stop() {
        state.task.withLock { $0?.cancel() }
    }
}
