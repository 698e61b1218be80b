@testable import Alerting
import DXKafka
import DXStore
import Foundation
import Synchronization
import Testing

/// When one service of a process fails, its service group cancels the others and reports the
/// failure once they have ended. A loop that retried at once on every error never ended once
/// cancelled (each attempt, and each wait before the next, returned at once): the process stayed
/// up, spinning and logging, and the failure was never reported.
@Suite("Cancelled loops end")
struct CancellationTests {
    struct PassFailed: Error {}

    /// How many times something happened (the pass ran, the loops ended), shared with the tasks.
    final class Count: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    // The limit only stops a hang: the test creates its database behind every other test's (one
    // at a time), which in a full run took longer than the one minute this limit was at first.
    // A loop that spins is caught by its passes, at once.
    @Test("the outbox relay and a dx-alerts pass loop whose pass always fails both end once their task is cancelled", .timeLimit(.minutes(10)))
    func loopsEndWhenCancelled() async throws {
        let db = try await TestDatabase.create("cancel")
        let logger = TestEnvironment.logger("cancellation")
        let producer = try KafkaProducer(configuration: .init(client: .init(bootstrapServers: try TestEnvironment.kafkaBrokers, clientID: "test-cancel")),
                                         logger: logger)
        let passes = Count()
        try await db.withAdmin { database in
            let relay = OutboxRelay(outbox: Outbox(schema: "engine"), database: database, producer: producer, logger: logger)
            let loop = PassLoop(channel: nil, pollInterval: .seconds(5), database: database, clock: SystemAlertClock(), wake: WakeSignal(),
                                logger: logger, name: "test pass")
            let services = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await relay.run() }
                    group.addTask {
                        await loop.run {
                            passes.add()
                            throw PassFailed()
                        }
                    }
                    try await group.waitForAll()
                }
            }
            while passes.value == 0 { try await Task.sleep(for: .milliseconds(50)) }
            services.cancel()
            // Until both loops have ended, or the pass loop has run again and again: a loop that
            // spins once cancelled never ends, so waiting for the end alone would only hang.
            let ended = Count()
            let end = Task {
                _ = await services.result
                ended.add()
            }
            while ended.value == 0 && passes.value <= 2 { try await Task.sleep(for: .milliseconds(20)) }
            // Once before the cancellation, and at most once after it: not again and again.
            #expect(passes.value <= 2)
            if passes.value <= 2 { await end.value }
        }
        await producer.shutdown()
    }
}
