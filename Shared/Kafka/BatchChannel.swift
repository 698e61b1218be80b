import Foundation

/// The hand-over between the consumer's poll thread and the async code that processes batches.
/// Bounded, so the poll thread stops fetching while processing is behind; it knows whether a
/// handed-out batch is still being processed, which is what a revocation must wait for.
///
/// What arrives while a batch is being processed joins the batch waiting behind it (up to
/// `maximumBatchSize`), so the next batch holds everything that is ready: a busy consumer takes
/// larger batches, not a queue of small ones that each wait for all before them.
final class BatchChannel: @unchecked Sendable {
    private let lock = NSCondition()
    private var queue: [[KafkaMessage]] = []
    private var waiter: CheckedContinuation<[KafkaMessage]?, Never>?
    private var inFlight = false
    private var finished = false
    private let capacity: Int
    private let maximumBatchSize: Int

    /// - Parameters:
    ///   - capacity: batches that may wait behind the one being processed.
    ///   - maximumBatchSize: messages a waiting batch may grow to.
    init(capacity: Int, maximumBatchSize: Int) {
        self.capacity = capacity
        self.maximumBatchSize = maximumBatchSize
    }

    var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished
    }

    /// Poll thread: blocks while the queue is full.
    func send(_ batch: [KafkaMessage]) {
        lock.lock()
        if let last = queue.indices.last, queue[last].count + batch.count <= maximumBatchSize {
            queue[last] += batch
            lock.unlock()
            return
        }
        while queue.count >= capacity && !finished {
            _ = lock.wait(until: Date().addingTimeInterval(0.1))
        }
        if finished {
            lock.unlock()
            return
        }
        if let waiter {
            self.waiter = nil
            inFlight = true
            lock.unlock()
            waiter.resume(returning: batch)
            return
        }
        queue.append(batch)
        lock.unlock()
    }

    /// Processing side: the previous batch is done; hand out the next one.
    func next() async -> [KafkaMessage]? {
        await withCheckedContinuation { continuation in
            lock.lock()
            inFlight = false
            lock.broadcast()
            if !queue.isEmpty {
                let batch = queue.removeFirst()
                inFlight = true
                lock.broadcast()
                lock.unlock()
                continuation.resume(returning: batch)
            } else if finished {
                lock.unlock()
                continuation.resume(returning: nil)
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }

    /// Drops queued messages of partitions that are being taken away.
    func discard(partitions: Set<KafkaTopicPartition>) {
        lock.lock()
        queue = queue.map { $0.filter { !partitions.contains($0.topicPartition) } }.filter { !$0.isEmpty }
        lock.broadcast()
        lock.unlock()
    }

    /// Poll thread: waits until no handed-out batch is being processed.
    func waitUntilIdle() {
        lock.lock()
        while inFlight {
            _ = lock.wait(until: Date().addingTimeInterval(0.1))
        }
        lock.unlock()
    }

    /// No more batches. `processingEnded` says the caller's loop is over, so nothing handed
    /// out is still being processed.
    func finish(processingEnded: Bool = false) {
        lock.lock()
        finished = true
        if processingEnded { inFlight = false }
        let waiter = self.waiter
        self.waiter = nil
        lock.broadcast()
        lock.unlock()
        waiter?.resume(returning: nil)
    }
}
