import Foundation

/// How a call ends. As a script (`POST /_fake/script`, ``FakeTwilioLedger/scriptOutcome(to:_:)``) or a draw from the
/// outcome mix it says what the callee does; on a ``FakeCall`` it is what happened, after the request's `Timeout`,
/// `TimeLimit` and `MachineDetection` had their say (twilio.md section 5, after-the-dial.md sections 1.5 and 1.6).
///
/// JSON: `{"status": "completed", "duration_seconds": 42, "ring_seconds": 8, "answered_by": "machine_end_beep"}`,
/// `{"status": "failed", "sip_response_code": 404}`.
public struct FakeCallOutcome: Sendable, Codable, Hashable {
    /// The final `CallStatus`.
    public enum Status: String, Sendable, Codable, Hashable {
        case completed, busy, failed
        case noAnswer = "no-answer"
    }

    public var status: Status
    /// `SipResponseCode` of the final callback; defaults to 200, 486, 487 or 500 by status.
    public var sipResponseCode: Int?
    /// Twilio seconds an answered call stays `in-progress` (default: the fake's `Timings.inProgress`); it is also the
    /// `CallDuration` reported. On a call: the duration reported (`TimeLimit` applied), 0 when it was not answered.
    public var durationSeconds: Int?
    /// Twilio seconds the callee lets it ring before answering, refusing or failing (default: `Timings.ringing`). An
    /// answer that would come at or after the request's `Timeout` never comes: the call ends `no-answer` then.
    public var ringSeconds: Int?
    /// Who (or what) answers. Reported only when the request asked for `MachineDetection`, in that mode's words (see
    /// ``AnsweredBy/reported(by:)``); a completed call without a script of it is answered by a human.
    public var answeredBy: AnsweredBy?

    public init(status: Status = .completed, sipResponseCode: Int? = nil, durationSeconds: Int? = nil, ringSeconds: Int? = nil,
                answeredBy: AnsweredBy? = nil)
    {
        self.status = status
        self.sipResponseCode = sipResponseCode
        self.durationSeconds = durationSeconds
        self.ringSeconds = ringSeconds
        self.answeredBy = answeredBy
    }

    var sipCode: Int {
        sipResponseCode ?? {
            switch status {
            case .completed: 200
            case .busy: 486
            case .noAnswer: 487
            case .failed: 500
            }
        }()
    }

    enum CodingKeys: String, CodingKey {
        case status
        case sipResponseCode = "sip_response_code"
        case durationSeconds = "duration_seconds"
        case ringSeconds = "ring_seconds"
        case answeredBy = "answered_by"
    }
}

/// Twilio's `AnsweredBy` (after-the-dial.md section 1.5): what answering-machine detection concluded.
public enum AnsweredBy: String, Sendable, Codable, Hashable, CaseIterable {
    case human, fax, unknown
    case machineStart = "machine_start"
    case machineEndBeep = "machine_end_beep"
    case machineEndSilence = "machine_end_silence"
    case machineEndOther = "machine_end_other"

    public var isMachine: Bool {
        switch self {
        case .machineStart, .machineEndBeep, .machineEndSilence, .machineEndOther: true
        case .human, .fax, .unknown: false
        }
    }

    /// What detection in `mode` reports for this callee: `Enable` answers as soon as it knows, so every machine is
    /// `machine_start`; `DetectMessageEnd` waits for the greeting's end, so a machine is one of the `machine_end_*`
    /// (`machine_end_other` for a script that said only `machine_start`). Humans, faxes and unknowns read the same in both.
    public func reported(by mode: MachineDetection) -> AnsweredBy {
        switch (mode, self) {
        case (.enable, _) where isMachine: .machineStart
        case (.detectMessageEnd, .machineStart): .machineEndOther
        default: self
        }
    }
}

/// Create Call's `MachineDetection`.
public enum MachineDetection: String, Sendable, Codable, Hashable {
    case enable = "Enable"
    case detectMessageEnd = "DetectMessageEnd"
}
