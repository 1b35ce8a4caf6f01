import Foundation

extension FakeCall {
    /// The Call resource's `status` at `instant` (twilio.md section 1.3, `call_enum_status`): `queued` until the call is
    /// placed, `ringing` until it is answered (or ends unanswered), `in-progress` while answered, then the outcome's
    /// final status. `initiated` is never a resource status, only a callback's.
    public func status(at instant: Date) -> String {
        if instant < startTime { return "queued" }
        if instant >= endTime { return outcome.status.rawValue }
        if let answerTime, instant >= answerTime { return "in-progress" }
        return "ringing"
    }

    /// `duration` and the final callback's `CallDuration`: whole seconds answered, rounded up; 0 for an unanswered call.
    public var duration: Int {
        guard let answerTime else { return 0 }
        // A millisecond of slack: Date arithmetic at today's magnitudes is off by ~0.1 us, which must not round 2 s up to 3.
        return Int(max(0, endTime.timeIntervalSince(answerTime) - 0.001).rounded(.up))
    }

    /// The last change of status at or before `instant` (`date_updated`).
    func updatedAt(_ instant: Date) -> Date {
        if instant >= endTime { return endTime }
        if let answerTime, instant >= answerTime { return answerTime }
        return instant >= startTime ? startTime : createdAt
    }

    /// Every callback status of the call, in order, with the instant it happens: what Twilio would report for each
    /// `StatusCallbackEvent` (`answered` as `in-progress`, `completed` as the final status).
    var events: [(status: String, event: String, at: Date)] {
        var events: [(status: String, event: String, at: Date)] = [("initiated", "initiated", startTime)]
        switch outcome.status {
        case .completed:
            events.append(("ringing", "ringing", startTime))
            events.append(("in-progress", "answered", answerTime ?? startTime))
        case .noAnswer: events.append(("ringing", "ringing", startTime))
        case .busy, .failed: break
        }
        events.append((outcome.status.rawValue, "completed", endTime))
        return events
    }

    /// The timeline of a call created at `createdAt`: `queue_time`, then `timings.queued` before it is placed, then
    /// `timings.ringing`, then (answered) the outcome's duration or `timings.inProgress`.
    static func timeline(createdAt: Date, queueTime: Int, outcome: FakeCallOutcome, timings: FakeTwilio.Timings)
        -> (start: Date, answer: Date?, end: Date)
    {
        let start = createdAt.addingTimeInterval(Double(queueTime) / 1000 + timings.queued.timeInterval)
        let rung = start.addingTimeInterval(timings.ringing.timeInterval)
        guard outcome.status == .completed else { return (start, nil, rung) }
        let talk = outcome.durationSeconds.map { Double(max(0, $0)) } ?? timings.inProgress.timeInterval
        return (start, rung, rung.addingTimeInterval(talk))
    }
}

extension Duration {
    /// In seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
