import Logging

/// Coalesces dial-slot reservations per subaccount: while one reservation runs, the dials that arrive wait for it, and
/// the next reservation asks for all of them at once. One UPDATE of the subaccount's `twilio_pacing` row then serves a
/// whole batch instead of every dial queueing on that row's lock.
actor Pacer {
    enum Answer: Sendable {
        /// Dial after this delay.
        case slot(Duration)
        /// The subaccount is saturated or paused: look again after this delay.
        case saturated(Duration)
        /// Not served by the last reservation: ask again now (this caller runs the next one, for everyone queued).
        case again
    }

    private let store: JobStore
    private let defaultCallsPerSecond: Double
    private let maxAhead: Duration
    private let logger: Logger
    private var waiting: [String: [CheckedContinuation<Answer, Never>]] = [:]
    private var reserving: Set<String> = []

    init(store: JobStore, defaultCallsPerSecond: Double, maxAhead: Duration, logger: Logger) {
        self.store = store
        self.defaultCallsPerSecond = defaultCallsPerSecond
        self.maxAhead = maxAhead
        self.logger = logger
    }

    func slot(_ subaccount: String) async -> Answer {
        if reserving.contains(subaccount) {
            return await withCheckedContinuation { waiting[subaccount, default: []].append($0) }
        }
        reserving.insert(subaccount)
        defer { reserving.remove(subaccount) }
        var queued = waiting.removeValue(forKey: subaccount) ?? []
        let slots: DialSlots
        do {
            let (store, count, cps, maxAhead) = (store, 1 + queued.count, defaultCallsPerSecond, maxAhead)
            slots = try await withTimeout(.seconds(5), what: "dial slot reservation") {
                try await store.reserveDialSlots(subaccount: subaccount, count: count, defaultCallsPerSecond: cps, maxAhead: maxAhead)
            }
        } catch {
            // No slot, no dial: dialing unpaced could push the subaccount over its calls per second, and Twilio would queue
            // the excess to ring later, past the gate's checks. The dials wait (and are handed back after maxPacingWait).
            logger.warning("pacing unavailable; dials wait for the database", metadata: ["error": "\(String(reflecting: error))"])
            for waiter in queued { waiter.resume(returning: .saturated(.seconds(1))) }
            return .saturated(.seconds(1))
        }
        // Whoever arrived during the reservation was not counted in it: they ask again.
        queued += waiting.removeValue(forKey: subaccount) ?? []
        guard slots.count > 0 else {
            let wait = slots.firstIn - maxAhead
            for waiter in queued { waiter.resume(returning: .saturated(wait)) }
            return .saturated(wait)
        }
        let spacing = 1 / slots.callsPerSecond
        let served = min(queued.count, slots.count - 1)
        for (i, waiter) in queued.prefix(served).enumerated() {
            waiter.resume(returning: .slot(slots.firstIn + .seconds(Double(i + 1) * spacing)))
        }
        // The rest stay queued; the first of them runs the next reservation, for all of them at once.
        let rest = queued.dropFirst(served)
        if let next = rest.first {
            waiting[subaccount] = Array(rest.dropFirst()) + (waiting[subaccount] ?? [])
            next.resume(returning: .again)
        }
        return .slot(slots.firstIn)
    }
}
