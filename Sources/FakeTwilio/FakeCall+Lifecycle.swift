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

    /// `duration` and the final callback's `CallDuration`: whole Twilio seconds answered, rounded up (fixed at creation,
    /// so a time scale never rounds it); 0 for an unanswered call.
    public var duration: Int { answerTime == nil ? 0 : outcome.durationSeconds ?? 0 }

    /// The Call resource's `answered_by` at `instant`: the AMD verdict once reached, `nil` before it and without AMD.
    public func answeredBy(at instant: Date) -> AnsweredBy? {
        guard let amdTime, instant >= amdTime else { return nil }
        return outcome.answeredBy
    }

    /// The last change of status at or before `instant` (`date_updated`).
    func updatedAt(_ instant: Date) -> Date {
        if instant >= endTime { return endTime }
        if let amdTime, instant >= amdTime { return amdTime }
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
}

extension Duration {
    /// In seconds, as a `TimeInterval`.
    var timeInterval: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
