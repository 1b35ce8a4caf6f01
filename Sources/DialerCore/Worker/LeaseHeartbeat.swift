import Logging

/// Extends the leases of every job in a ``LeaseRegistry``, a third of a lease apart, while the jobs are in this
/// process's hands (dialing, or being reconciled); except jobs held longer than `maxHold`, which are let go (see
/// ``LeaseRegistry/partition(heldLongerThan:)``): something here is stuck on them, and another worker recovers them.
struct LeaseHeartbeat: Sendable {
    let store: JobStore
    let worker: String
    let lease: Duration
    let maxHold: Duration
    let logger: Logger

    init(store: JobStore, configuration: WorkerConfiguration, logger: Logger) {
        self.store = store
        self.worker = configuration.workerID
        self.lease = configuration.lease
        self.maxHold = configuration.maxHold
        self.logger = logger
    }

    /// Beats until cancelled.
    func run(_ leases: LeaseRegistry) async {
        var reported = Set<Int64>()
        while !Task.isCancelled {
            do { try await Task.sleep(for: lease / 3) } catch { return }
            let (ids, stuck) = leases.partition(heldLongerThan: maxHold)
            for id in stuck where !reported.contains(id) {
                logger.error("job held too long; its lease is left to expire so another worker recovers it", metadata: [
                    "job.id": "\(id)", "held_longer_than": "\(maxHold)",
                ])
            }
            reported = Set(stuck)
            guard !ids.isEmpty else { continue }
            do {
                let (store, worker, lease) = (self.store, self.worker, self.lease)
                let extended = try await withTimeout(lease / 3, what: "heartbeat") {
                    try await store.extendLeases(ids, worker: worker, lease: lease)
                }
                if extended < ids.count {
                    logger.debug("heartbeat: some leases were already settled", metadata: ["held": "\(ids.count)", "extended": "\(extended)"])
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("heartbeat failed; leases may expire", metadata: ["held": "\(ids.count)", "error": "\(String(reflecting: error))"])
            }
        }
    }
}
