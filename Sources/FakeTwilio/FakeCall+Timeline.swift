import Foundation

extension FakeCall {
    /// How a call goes, fixed when it is created.
    struct Timeline: Sendable, Hashable {
        var start: Date
        var answer: Date?
        var end: Date
        /// What happened (``FakeCall/outcome``).
        var outcome: FakeCallOutcome
        var amdTime: Date?
        var machineDetectionDuration: Int?
    }

    /// The timeline of a call created at `createdAt` whose callee behaves as `callee` says, under the request's options:
    /// `queue_time`, then `timings.queued` before it is placed; then it rings, and the callee answers (or is busy, or
    /// fails) after its `ringSeconds`; then an answered call lasts its `durationSeconds` (or `timings.inProgress`),
    /// at most the `TimeLimit`.
    ///
    /// Twilio seconds (ring and talk seconds, `Timeout`, `TimeLimit`, AMD's milliseconds) last `timeScale` seconds each
    /// on the fake's clock; `timings` are on the fake's clock already. A callee whose ring seconds reach the `Timeout`
    /// never answers: the call ends `no-answer`, SIP 487, when the `Timeout` elapses, and a `no-answer` callee rings for
    /// the whole `Timeout`. A callee with no ring seconds answers after `timings.ringing`, or at the `Timeout` if that is
    /// shorter: only Twilio seconds can outlast it. With `MachineDetection`, the verdict (``AnsweredBy/reported(by:)``)
    /// comes after a detection time typical of it, never after the call ended.
    static func timeline(createdAt: Date, queueTime: Int, callee: FakeCallOutcome, options: CallOptions, timings: FakeTwilio.Timings,
                         timeScale: Double, dice: FakeDice) -> Timeline
    {
        func scaled(_ seconds: Int) -> TimeInterval { Double(max(0, seconds)) * timeScale }
        let start = createdAt.addingTimeInterval(Double(queueTime) / 1000 + timings.queued.timeInterval)
        let timeout = options.timeout.map(scaled)
        let ring = callee.ringSeconds.map(scaled) ?? min(timings.ringing.timeInterval, timeout ?? .infinity)
        var outcome = callee
        outcome.answeredBy = nil
        outcome.durationSeconds = 0
        outcome.sipResponseCode = callee.sipCode

        if callee.status == .noAnswer {
            return Timeline(start: start, end: start.addingTimeInterval(timeout ?? ring), outcome: outcome)
        }
        if let timeout, callee.ringSeconds != nil, ring >= timeout {
            outcome.status = .noAnswer
            outcome.sipResponseCode = 487
            return Timeline(start: start, end: start.addingTimeInterval(timeout), outcome: outcome)
        }
        let rung = start.addingTimeInterval(ring)
        guard callee.status == .completed else { return Timeline(start: start, end: rung, outcome: outcome) }

        // In Twilio seconds, exact when scripted: the reported duration is never a rounding of scaled instants.
        var talk = callee.durationSeconds.map { Double(max(0, $0)) } ?? timings.inProgress.timeInterval / timeScale
        if let limit = options.timeLimit { talk = min(talk, Double(limit)) }
        // A millisecond of slack: 0.1 s of `timings.inProgress` over a scale is not exact, and must not round 2 s up to 3.
        outcome.durationSeconds = Int(max(0, talk - 0.001).rounded(.up))
        var timeline = Timeline(start: start, answer: rung, end: rung.addingTimeInterval(talk * timeScale), outcome: outcome)
        if let mode = options.machineDetection {
            let verdict = (callee.answeredBy ?? .human).reported(by: mode)
            let milliseconds = min(detectionMilliseconds(verdict, dice), Int(talk * 1000))
            timeline.outcome.answeredBy = verdict
            timeline.machineDetectionDuration = milliseconds
            timeline.amdTime = rung.addingTimeInterval(Double(milliseconds) / 1000 * timeScale)
        }
        return timeline
    }

    /// How long AMD takes to say `verdict`, in milliseconds: a human or a greeting's start within seconds (Twilio's speech
    /// threshold is 2.4 s), a greeting's end after it plays, `unknown` at the 30 s `MachineDetectionTimeout`.
    static func detectionMilliseconds(_ verdict: AnsweredBy, _ dice: FakeDice) -> Int {
        switch verdict {
        case .human: dice.int(in: 1_800...3_500, "amd")
        case .fax: dice.int(in: 1_500...4_000, "amd")
        case .machineStart: dice.int(in: 2_500...5_000, "amd")
        case .machineEndBeep, .machineEndSilence, .machineEndOther: dice.int(in: 8_000...25_000, "amd")
        case .unknown: 30_000
        }
    }
}
