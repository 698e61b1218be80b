import Logging
import PostgresNIO

extension Database {
    /// Signals `wake` at every NOTIFY on `channel`, on a connection of its own, until `stopping`
    /// is set or the task is cancelled. A lost connection is logged and listened on again a
    /// second later; meanwhile the loop being woken falls back to its polling.
    public func wakeOnNotifications(on channel: String, wake: WakeSignal, until stopping: StopFlag, logger: Logger) async {
        while !stopping.isStopped {
            do {
                try await withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        for try await _ in notifications { wake.signal() }
                    }
                }
            } catch {
                if stopping.isStopped { return }
                logger.debug("LISTEN \(channel): connection lost (\(error.postgresDescription)); polling until it is back")
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
