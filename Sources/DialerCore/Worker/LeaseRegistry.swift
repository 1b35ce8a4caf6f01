import Synchronization

/// The jobs this worker holds leases on right now, with when it took each; the heartbeat extends these.
final class LeaseRegistry: Sendable {
    private let held = Mutex([Int64: ContinuousClock.Instant]())
    func insert(_ id: Int64) { held.withLock { $0[id] = .now } }
    func remove(_ id: Int64) { _ = held.withLock { $0.removeValue(forKey: id) } }
    var count: Int { held.withLock { $0.count } }

    /// The jobs held for less than `limit` (the heartbeat keeps their leases), and those held longer: something in this
    /// process is stuck on them (a hung query or connection), so their leases are left to expire and any worker recovers
    /// them (in doubt, reconciled with Twilio) instead of the heartbeat keeping them hostage forever.
    func partition(heldLongerThan limit: Duration) -> (fresh: [Int64], stuck: [Int64]) {
        let now = ContinuousClock.now
        return held.withLock { held in
            var fresh: [Int64] = [], stuck: [Int64] = []
            for (id, since) in held {
                if now - since < limit { fresh.append(id) } else { stuck.append(id) }
            }
            return (fresh, stuck)
        }
    }
}
