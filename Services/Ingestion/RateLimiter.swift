import Foundation
import Synchronization

/// A rate limit per ingestion token: `burst` requests at once, then `perMinute`. One office's
/// runaway script cannot starve the others; a client that honours `Retry-After` never notices.
/// It is the generic cell rate algorithm (a token bucket kept as one instant per token, in exact
/// durations, so the waits it announces are exact). In memory, per process: each replica limits
/// on its own.
final class RateLimiter: Sendable {
    let perMinute: Int
    let burst: Int
    /// Per token: when the bucket would be full again (the "theoretical arrival time").
    private let arrivals = Mutex<[UUID: ContinuousClock.Instant]>([:])

    /// `perMinute` 0 turns the limit off.
    init(perMinute: Int, burst: Int) {
        self.perMinute = perMinute
        self.burst = max(1, burst)
    }

    var isEnabled: Bool { perMinute > 0 }

    var description: String { "\(perMinute) requests per minute (bursts of \(burst))" }

    /// Takes one request from the token's allowance: nil when allowed, else the whole seconds
    /// to wait until the next request would be.
    func acquire(_ token: UUID, now: ContinuousClock.Instant = .now) -> Int? {
        guard isEnabled else { return nil }
        let interval = Duration.seconds(60) / perMinute
        let tolerance = interval * (burst - 1)
        return arrivals.withLock { arrivals -> Int? in
            let arrival = max(arrivals[token] ?? now, now)
            let ahead = arrival - now
            if ahead > tolerance {
                let wait = ahead - tolerance
                let seconds = wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)
                return max(1, Int(seconds))
            }
            arrivals[token] = arrival + interval
            // Forget tokens whose allowance is whole again, so memory stays bounded by active tokens.
            if arrivals.count > 10_000 { arrivals = arrivals.filter { $0.value > now } }
            return nil
        }
    }
}
