import Foundation

/// Threads of its own for the provinces' computations, as a task executor. On Swift's shared
/// pool (one thread per core) two provinces computed at once took every thread for as long as
/// they ran, so the task writing the batch's rows, resumed after each statement, waited for one
/// of them to finish first. On threads of their own the computations leave the shared pool to the
/// writes, and the kernel shares the cores among all of them.
final class ComputeThreads: TaskExecutor, Sendable {
    private let jobs = JobQueue()

    /// Starts `count` threads, named `dx-compute-N`; they end when this executor is released.
    init(count: Int) {
        // Unowned, so the threads do not keep the executor alive; its tasks do while they run.
        let executor = asUnownedTaskExecutor()
        for index in 0..<max(1, count) {
            let name = "dx-compute-\(index + 1)"
            // Named from inside: on Linux a name given before `start()` does not reach the thread.
            Thread { [jobs] in
                Thread.current.name = name
                jobs.run(on: executor)
            }.start()
        }
    }

    deinit {
        jobs.close()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        jobs.append(UnownedJob(job))
    }
}

/// The jobs waiting for a compute thread, first in first out.
private final class JobQueue: @unchecked Sendable {
    // Guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [UnownedJob] = []
    private var head = 0
    private var closed = false

    func append(_ job: UnownedJob) {
        condition.lock()
        waiting.append(job)
        condition.signal()
        condition.unlock()
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs jobs as they come until the queue is closed.
    func run(on executor: UnownedTaskExecutor) {
        while let job = next() {
            job.runSynchronously(on: executor)
        }
    }

    private func next() -> UnownedJob? {
        condition.lock()
        defer { condition.unlock() }
        while head == waiting.count && !closed { condition.wait() }
        guard head < waiting.count else { return nil }
        let job = waiting[head]
        head += 1
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        }
        return job
    }
}
