import Foundation
@testable import Indicators
import Synchronization
import Testing

@Suite("ComputeThreads")
struct ComputeThreadsTests {
    @Test("tasks that prefer the compute threads run on them, each to its result")
    func runsOnItsThreads() async throws {
        let threads = ComputeThreads(count: 2)
        let results = await withTaskGroup(of: (Int, String?).self) { group in
            for index in 0..<200 {
                group.addTask(executorPreference: threads) { (index * index, currentThreadName()) }
            }
            var results: [(Int, String?)] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.map(\.0).sorted() == (0..<200).map { $0 * $0 })
        #expect(Set(results.compactMap(\.1)).isSubset(of: ["dx-compute-1", "dx-compute-2"]))
        #expect(results.allSatisfy { $0.1?.hasPrefix("dx-compute-") == true })
    }

    /// What the engine relies on: a batch's writes go on while its provinces are computed. With
    /// the computations on the shared pool, as many of them as cores held every thread of it.
    @Test("while every compute thread is busy, work on the shared pool still runs")
    func leavesTheSharedPoolFree() async throws {
        let count = ProcessInfo.processInfo.activeProcessorCount
        let threads = ComputeThreads(count: count)
        let progress = Progress()
        let release = DispatchSemaphore(value: 0)
        // Were the shared pool held by the blockers, nothing after them would run until this
        // frees them.
        Thread {
            Thread.sleep(forTimeInterval: 10)
            progress.releasedByWatchdog.withLock { $0 = true }
            for _ in 0..<count { release.signal() }
        }.start()
        let blockers = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask(executorPreference: threads) {
                        progress.started.withLock { $0 += 1 }
                        release.wait()
                    }
                }
            }
        }
        while progress.started.withLock({ $0 }) < count { try await Task.sleep(for: .milliseconds(5)) }
        let onPool = await Task.detached { 6 * 7 }.value
        let waitedForWatchdog = progress.releasedByWatchdog.withLock { $0 }
        if !waitedForWatchdog { for _ in 0..<count { release.signal() } }
        await blockers.value
        #expect(onPool == 42)
        #expect(!waitedForWatchdog, "the shared pool ran nothing until the compute threads were freed")
    }
}

/// How far the blocking test got: blockers started, and whether the watchdog had to free them.
private final class Progress: Sendable {
    let started = Mutex(0)
    let releasedByWatchdog = Mutex(false)
}

/// The name of the thread running the caller (`Thread.current` cannot be read from async code).
private func currentThreadName() -> String? {
    Thread.current.name
}
