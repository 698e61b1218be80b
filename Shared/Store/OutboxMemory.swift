import Foundation
import Synchronization

/// The payloads of outbox rows this process has just committed, kept for its own relay so that
/// it publishes them without reading them back from PostgreSQL. dx-indicators writes about
/// 280 bytes of JSON per changed indicator value; reading them back (TOAST chunks, decompressed,
/// sent over the socket, copied out of the row) cost PostgreSQL and the relay as much again.
///
/// Only a shortcut: the rows stay the record. The relay still selects pending rows in order
/// under its lock and marks them once the broker acknowledged them; a payload not kept here (the
/// process restarted, another replica committed it, the limit was reached, it aged out) is read
/// from its row as before. So the guarantees stay those of the outbox.
public final class OutboxMemory: Sendable {
    /// Bytes of payload kept at most; the oldest go first.
    public let byteLimit: Int
    /// How long a payload is kept: a row another replica's relay published is never asked for.
    public let lifetime: Duration

    private struct Kept {
        var id: UUID
        var at: ContinuousClock.Instant
    }

    private struct State {
        var payloads: [UUID: [UInt8]] = [:]
        /// In the order kept; `head` is the oldest still listed.
        var order: [Kept] = []
        var head = 0
        var bytes = 0
    }

    private let state = Mutex(State())

    public init(byteLimit: Int = 256 << 20, lifetime: Duration = .seconds(60)) {
        self.byteLimit = byteLimit
        self.lifetime = lifetime
    }

    /// Keeps the payloads of messages once the transaction that wrote their rows has committed.
    /// (The relay asks only for rows it selected, so a payload whose row was rolled back would
    /// never be published; it would only take memory until it aged out.)
    public func keep(_ messages: [OutboxMessage]) {
        guard !messages.isEmpty else { return }
        let now = ContinuousClock.now
        state.withLock { state in
            for message in messages {
                guard message.payload.count <= byteLimit else { continue }
                state.payloads[message.id] = message.payload
                state.order.append(Kept(id: message.id, at: now))
                state.bytes += message.payload.count
            }
            evict(&state, now: now)
        }
    }

    /// The payloads kept for `ids`, removed from memory: each is published once by this relay
    /// pass, or read from its row by a later one if the pass fails.
    public func take(_ ids: [UUID]) -> [UUID: [UInt8]] {
        state.withLock { state in
            var found: [UUID: [UInt8]] = [:]
            for id in ids {
                if let payload = state.payloads.removeValue(forKey: id) {
                    found[id] = payload
                    state.bytes -= payload.count
                }
            }
            evict(&state, now: .now)
            return found
        }
    }

    /// Payload bytes kept now, for tests and metrics.
    public var keptBytes: Int { state.withLock { $0.bytes } }

    private func evict(_ state: inout State, now: ContinuousClock.Instant) {
        while state.head < state.order.count {
            let oldest = state.order[state.head]
            if let payload = state.payloads[oldest.id] {
                // Still waiting for the relay: dropped only when over the limit or too old.
                guard state.bytes > byteLimit || now - oldest.at > lifetime else { break }
                state.payloads[oldest.id] = nil
                state.bytes -= payload.count
            }
            state.head += 1
        }
        // The listed prefix is gone: drop it once it is most of the list.
        if state.head > 1024 && state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
