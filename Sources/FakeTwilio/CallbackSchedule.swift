import Foundation

/// When, in what order and how many times each callback of a call is delivered: a pure function of the call (its
/// subscribed events, its scripted ``CallbackScript``), the configured ``CallbackFaults`` and the call's dice. The
/// ``StatusCallbacks`` service only waits for each delivery's instant and sends it.
enum CallbackSchedule {
    struct Delivery: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            /// A status callback: its `SequenceNumber` (0-based, over the subscribed events), `CallStatus`, and whether it
            /// is the final one (which carries `CallDuration`, `SipResponseCode` and, with AMD, `AnsweredBy`).
            case status(sequence: Int, status: String, final: Bool)
            /// The asynchronous AMD callback (`AsyncAmd=true`): `AnsweredBy` and `MachineDetectionDuration`.
            case amd
        }

        let kind: Kind
        /// The instant of the event it reports: its `Timestamp`.
        let eventAt: Date
        /// When it is sent: the event's instant, or a later event's when it is delivered late.
        let sendAt: Date
        /// 0 (dropped: never sent), 1, or 2 (delivered twice).
        let copies: Int
    }

    /// Every delivery of `call`, in the order they are made (their `sendAt` never decreases). Status callbacks only with
    /// a `StatusCallback`; the AMD callback only with `AsyncAmd=true`, an `AsyncAmdStatusCallback` and a verdict, at the
    /// verdict's instant, never faulted. A scripted ``CallbackScript`` replaces the random `faults`.
    static func deliveries(_ call: FakeCall, faults: CallbackFaults, seed: UInt64) -> [Delivery] {
        var deliveries: [Delivery] = []
        if let callback = call.statusCallback, !callback.isEmpty {
            deliveries = statusDeliveries(events(call), script: call.callbackScript, faults: faults,
                                          dice: FakeDice(seed: seed, to: call.to, dialIndex: call.dialIndex))
        }
        if call.asyncAmd, let url = call.asyncAmdStatusCallback, !url.isEmpty, call.outcome.answeredBy != nil, let verdict = call.amdTime {
            let index = deliveries.firstIndex { $0.sendAt > verdict } ?? deliveries.count
            deliveries.insert(Delivery(kind: .amd, eventAt: verdict, sendAt: verdict, copies: 1), at: index)
        }
        return deliveries
    }

    /// The callbacks of `call` given its subscribed events: `answered` is reported as `in-progress`, `completed` as the
    /// final status; no subscription means `completed` only.
    static func events(_ call: FakeCall) -> [(status: String, at: Date, final: Bool)] {
        let wanted = call.statusCallbackEvents.isEmpty ? ["completed"] : Set(call.statusCallbackEvents.map { $0.lowercased() })
        return call.events.compactMap { event in
            wanted.contains(event.event) ? (event.status, event.at, event.event == "completed") : nil
        }
    }

    /// The status callbacks, faulted: a late one is held and delivered right after the next one that is not held (so a
    /// run of late ones arrives last first, each after its successor); the last callback is never late.
    static func statusDeliveries(_ events: [(status: String, at: Date, final: Bool)], script: CallbackScript?, faults: CallbackFaults,
                                 dice: FakeDice) -> [Delivery]
    {
        guard let last = events.last else { return [] }
        func kind(_ i: Int) -> Delivery.Kind { .status(sequence: i, status: events[i].status, final: events[i].final) }
        if script == .reverse {
            return events.indices.reversed().map { Delivery(kind: kind($0), eventAt: events[$0].at, sendAt: last.at, copies: 1) }
        }
        var out: [Delivery] = []
        var held: [Delivery] = []
        for (i, event) in events.enumerated() {
            let copies: Int
            var late = false
            switch script {
            case .normal, .reverse: copies = 1
            case .dropAll: copies = 0
            case .dropFinal: copies = event.final ? 0 : 1
            case .duplicateAll: copies = 2
            case nil:
                copies = dice.happens(faults.drop, "drop-\(i)") ? 0 : dice.happens(faults.duplicate, "duplicate-\(i)") ? 2 : 1
                late = dice.happens(faults.reorder, "reorder-\(i)")
            }
            let delivery = Delivery(kind: kind(i), eventAt: event.at, sendAt: event.at, copies: copies)
            if late, i < events.count - 1 {
                held.append(delivery)
                continue
            }
            out.append(delivery)
            for late in held.reversed() {
                out.append(Delivery(kind: late.kind, eventAt: late.eventAt, sendAt: event.at, copies: late.copies))
            }
            held.removeAll()
        }
        return out
    }
}
