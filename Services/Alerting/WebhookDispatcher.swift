import AsyncHTTPClient
import DXModel
import DXStore
import Foundation
import Logging
import Metrics
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// Delivers alert transitions to the configured webhooks, grouped like Alertmanager: per
/// receiver, province and rule, a new group waits `groupWait` for more alerts, and a group is
/// notified at most once per `groupInterval`. A notification's body is fixed when it is made
/// (alerting.webhook_deliveries) and POSTed until a 2xx, with doubling backoff; after
/// `maxAttempts` it is recorded as failed. Delivery is at least once: a crash between the
/// receiver's 2xx and our record sends it again, with the same `id` for the receiver to drop.
public final class WebhookDispatcher: Service, Sendable {
    private let routes: [String: WebhookRoute]
    private let catalog: Catalog
    private let database: Database
    private let clock: any AlertClock
    private let pollInterval: Duration
    private let logger: Logger
    private let wake = WakeSignal()
    private let delivered = Counter(label: "dx_alerts_webhook_deliveries_total", dimensions: [("result", "delivered")])
    private let retried = Counter(label: "dx_alerts_webhook_deliveries_total", dimensions: [("result", "retry")])
    private let failed = Counter(label: "dx_alerts_webhook_deliveries_total", dimensions: [("result", "failed")])

    init(routes: [WebhookRoute], catalog: Catalog, database: Database, clock: any AlertClock, pollInterval: Duration, logger: Logger) {
        self.routes = Dictionary(routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.catalog = catalog
        self.database = database
        self.clock = clock
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        let loop = PassLoop(channel: AlertStore.webhookChannel, pollInterval: pollInterval, database: database, clock: clock, wake: wake,
                            logger: logger, name: "webhook dispatch")
        await loop.run { try await self.dispatch() }
    }

    /// One pass: makes the notifications of groups that are due, sends the deliveries that are
    /// due; returns when the next one falls due.
    @discardableResult
    public func dispatch() async throws -> Date? {
        let groupsDue = try await formNotifications(now: clock.now())
        let sendDue = try await sendDeliveries()
        return [groupsDue, sendDue].compactMap { $0 }.min()
    }

    /// Turns waiting transitions into one notification per due group.
    private func formNotifications(now: Date) async throws -> Date? {
        let routes = self.routes
        let logger = self.logger
        let catalog = self.catalog
        return try await database.withTransaction { connection -> Date? in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('alerting.webhooks'))", logger: logger)
            var groups: [(receiver: String, key: String, first: Date, lastSent: Date?)] = []
            for try await row in try await connection.query("""
                SELECT n.receiver, n.group_key, min(n.created_at), g.last_sent_at
                FROM alerting.webhook_notifications n
                LEFT JOIN alerting.webhook_groups g ON g.receiver = n.receiver AND g.group_key = n.group_key
                WHERE n.delivery_id IS NULL
                  AND NOT EXISTS (SELECT 1 FROM alerting.webhook_deliveries d
                                  WHERE d.receiver = n.receiver AND d.group_key = n.group_key AND d.status = 'pending')
                GROUP BY n.receiver, n.group_key, g.last_sent_at
                ORDER BY n.receiver, n.group_key
                """, logger: logger).decode((String, String, Date, Date?).self) {
                groups.append((row.0, row.1, row.2, row.3))
            }
            var nextDue: Date?
            for group in groups {
                let route = routes[group.receiver]
                if let route {
                    var due = group.first.addingTimeInterval(route.groupWait.seconds)
                    if let last = group.lastSent { due = max(due, last.addingTimeInterval(route.groupInterval.seconds)) }
                    if due > now {
                        nextDue = min(nextDue ?? due, due)
                        continue
                    }
                }
                var ids: [Int64] = []
                var alerts: [AlertTransition] = []
                for try await (id, payload) in try await connection.query("""
                    SELECT id, payload FROM alerting.webhook_notifications
                    WHERE receiver = \(group.receiver) AND group_key = \(group.key) AND delivery_id IS NULL ORDER BY id FOR UPDATE
                    """, logger: logger).decode((Int64, String).self) {
                    ids.append(id)
                    if let transition = try? MessageCoding.decode(AlertTransition.self, from: Array(payload.utf8)) { alerts.append(transition) }
                }
                guard !ids.isEmpty else { continue }
                var deliveryID: Int64 = 0
                for try await id in try await connection.query("SELECT nextval('alerting.webhook_deliveries_id_seq')", logger: logger).decode(Int64.self) {
                    deliveryID = id
                }
                let parts = group.key.split(separator: "/", maxSplits: 1).map(String.init)
                let province = parts.first ?? ""
                let notification = WebhookNotification(
                    id: String(deliveryID), receiver: group.receiver, groupKey: group.key,
                    group: .init(province: province, provinceName: catalog.units[UnitCode(province)]?.name ?? province, rule: parts.count > 1 ? parts[1] : ""),
                    alerts: alerts
                )
                let body = String(decoding: try MessageCoding.encode(notification), as: UTF8.self)
                let status = route == nil ? "failed" : "pending"
                let error: String? = route == nil ? "receiver \(group.receiver) is no longer configured" : nil
                try await connection.query("""
                    INSERT INTO alerting.webhook_deliveries (id, receiver, group_key, url, body, alert_count, status, next_attempt_at, last_error, created_at, finished_at)
                    VALUES (\(deliveryID), \(group.receiver), \(group.key), \(route?.receiver.url ?? ""), \(body), \(ids.count), \(status), \(now), \(error), \(now),
                            \(route == nil ? now : nil))
                    """, logger: logger)
                try await connection.query("UPDATE alerting.webhook_notifications SET delivery_id = \(deliveryID) WHERE id = ANY(\(ids))", logger: logger)
                try await connection.query("""
                    INSERT INTO alerting.webhook_groups (receiver, group_key, last_sent_at) VALUES (\(group.receiver), \(group.key), \(now))
                    ON CONFLICT (receiver, group_key) DO UPDATE SET last_sent_at = excluded.last_sent_at
                    """, logger: logger)
                if route == nil { logger.warning("webhook notification dropped", metadata: ["receiver": "\(group.receiver)", "reason": "not configured"]) }
            }
            return nextDue
        }
    }

    private struct Claimed: Sendable {
        var id: Int64
        var receiver: String
        var url: String
        var body: String
        var attempts: Int
    }

    private enum Outcome: Sendable {
        case delivered(status: Int)
        case failed(status: Int?, error: String)
    }

    /// Claims due deliveries (a lease, so another replica does not send them meanwhile), POSTs
    /// them, records each result.
    private func sendDeliveries() async throws -> Date? {
        let now = clock.now()
        let maximumTimeout = routes.values.map(\.timeout).max() ?? .seconds(10)
        let leaseUntil = now.addingTimeInterval(maximumTimeout.seconds + 30)
        var claimed: [Claimed] = []
        for try await row in try await database.query("""
            UPDATE alerting.webhook_deliveries SET attempts = attempts + 1, next_attempt_at = \(leaseUntil)
            WHERE id IN (SELECT id FROM alerting.webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= \(now)
                         ORDER BY id LIMIT 32 FOR UPDATE SKIP LOCKED)
            RETURNING id, receiver, url, body, attempts
            """).decode((Int64, String, String, String, Int).self) {
            claimed.append(Claimed(id: row.0, receiver: row.1, url: row.2, body: row.3, attempts: row.4))
        }
        if !claimed.isEmpty {
            let results = await withTaskGroup(of: (Claimed, Outcome).self) { group in
                for delivery in claimed {
                    group.addTask { (delivery, await self.post(delivery)) }
                }
                var results: [(Claimed, Outcome)] = []
                for await result in group { results.append(result) }
                return results
            }
            let finishedAt = clock.now()
            for (delivery, outcome) in results.sorted(by: { $0.0.id < $1.0.id }) {
                try await record(delivery, outcome: outcome, at: finishedAt)
            }
        }
        var next: Date?
        for try await value in try await database.query("SELECT min(next_attempt_at) FROM alerting.webhook_deliveries WHERE status = 'pending'").decode(Date?.self) {
            next = value
        }
        return next
    }

    private func post(_ delivery: Claimed) async -> Outcome {
        guard let route = routes[delivery.receiver] else { return .failed(status: nil, error: "receiver is no longer configured") }
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "dx-alerts")
        for (name, value) in route.receiver.headers ?? [:] { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: delivery.body))
        do {
            let timeout = TimeAmount.milliseconds(Int64(route.timeout.seconds * 1000))
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            return (200..<300).contains(status) ? .delivered(status: status) : .failed(status: status, error: "HTTP \(status)")
        } catch {
            return .failed(status: nil, error: "\(error)")
        }
    }

    private func record(_ delivery: Claimed, outcome: Outcome, at now: Date) async throws {
        let route = routes[delivery.receiver]
        switch outcome {
        case .delivered(let status):
            try await database.query("""
                UPDATE alerting.webhook_deliveries SET status = 'delivered', finished_at = \(now), last_http_status = \(status), last_error = NULL
                WHERE id = \(delivery.id)
                """)
            delivered.increment()
            logger.info("webhook delivered", metadata: ["receiver": "\(delivery.receiver)", "delivery": "\(delivery.id)", "attempt": "\(delivery.attempts)"])
        case .failed(let status, let error):
            if let route, delivery.attempts < route.maxAttempts {
                let next = now.addingTimeInterval(route.backoff(afterAttempt: delivery.attempts).seconds)
                try await database.query("""
                    UPDATE alerting.webhook_deliveries SET next_attempt_at = \(next), last_http_status = \(status), last_error = \(error)
                    WHERE id = \(delivery.id)
                    """)
                retried.increment()
                logger.warning("webhook not delivered; will retry", metadata: [
                    "receiver": "\(delivery.receiver)", "delivery": "\(delivery.id)", "attempt": "\(delivery.attempts)", "error": "\(error)",
                ])
            } else {
                try await database.query("""
                    UPDATE alerting.webhook_deliveries SET status = 'failed', finished_at = \(now), last_http_status = \(status), last_error = \(error)
                    WHERE id = \(delivery.id)
                    """)
                failed.increment()
                logger.error("webhook delivery failed after the last try", metadata: [
                    "receiver": "\(delivery.receiver)", "delivery": "\(delivery.id)", "attempts": "\(delivery.attempts)", "error": "\(error)",
                ])
            }
        }
    }
}

extension Duration {
    /// As seconds, for `Date` arithmetic.
    var seconds: TimeInterval {
        let (whole, fraction) = components
        return TimeInterval(whole) + TimeInterval(fraction) / 1e18
    }
}
