import Synchronization

/// The jobs this worker holds leases on right now; the heartbeat extends exactly these.
final class LeaseRegistry: Sendable {
    private let ids = Mutex(Set<Int64>())
    func insert(_ id: Int64) { _ = ids.withLock { $0.insert(id) } }
    func remove(_ id: Int64) { _ = ids.withLock { $0.remove(id) } }
    var snapshot: [Int64] { ids.withLock { Array($0) } }
}
