import DXStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The shape of dx-alerts' background work (operator actions, webhooks, the missing-report
/// timer): do one pass, then sleep until the pass says the next is due, a NOTIFY on the channel
/// wakes it, or the poll interval ends — until graceful shutdown. A failed pass is logged and
/// retried on the next wake; the loop itself never ends on an error, only on shutdown or
/// cancellation.
struct PassLoop: Sendable {
    /// What to LISTEN on; nil for a loop woken by time alone.
    let channel: String?
    let pollInterval: Duration
    let database: Database
    let clock: any AlertClock
    let wake: WakeSignal
    let logger: Logger
    /// How a failure is described in the log ("webhook dispatch", …).
    let name: String

    /// Runs `pass` until shutdown; `pass` returns when it next has work due, if it knows.
    func run(_ pass: @escaping @Sendable () async throws -> Date?) async {
        let stopping = StopFlag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                if let channel {
                    group.addTask { await database.wakeOnNotifications(on: channel, wake: wake, until: stopping, logger: logger) }
                }
                // Ends on shutdown and when cancelled (`StopFlag.isStopped`).
                while !stopping.isStopped {
                    var wait = pollInterval
                    do {
                        if let next = try await pass() {
                            let seconds = max(0, next.timeIntervalSince(clock.now()))
                            wait = min(wait, .milliseconds(Int64(seconds * 1000) + 5))
                        }
                    } catch {
                        logger.warning("\(name) failed; retrying", metadata: ["error": "\(error.postgresDescription)"])
                    }
                    await wake.wait(timeout: wait)
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            stopping.stop()
            wake.signal()
        }
    }
}
