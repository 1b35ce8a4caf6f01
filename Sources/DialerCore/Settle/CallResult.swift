/// How a call ended, as the campaign policy reads it: Twilio's final `CallStatus`, refined by `AnsweredBy` (only present
/// when machine detection was asked) and, for failures, the SIP response code (after-the-dial.md 1.6).
public enum CallResult: Sendable, Hashable, CustomStringConvertible {
    /// Answered by a person (AMD said `human`).
    case human
    /// Answered; AMD could not tell (`unknown`): treated as a person, never as a machine.
    case unknown
    /// Answered, no machine detection asked: Twilio cannot tell a person from voicemail.
    case completed
    /// Answered by a machine or a fax (`machine_*`, `fax`).
    case machine
    case busy
    case noAnswer
    /// Twilio's carriers could not connect the call; the SIP code says whether the number is bad (404, 410, 484),
    /// the call was declined (603) or the failure may pass.
    case failed(sip: Int?)
    /// Canceled through the REST API while queued or ringing (by us, never by the callee).
    case canceled

    /// Classifies a final status; `nil` for a status that is not final.
    public init?(status: CallStatus, answeredBy: String?, sipResponseCode: Int?) {
        switch status {
        case .queued, .initiated, .ringing, .inProgress: return nil
        case .completed:
            switch answeredBy {
            case nil, "": self = .completed
            case "human": self = .human
            case let value? where value.hasPrefix("machine") || value == "fax": self = .machine
            default: self = .unknown
            }
        case .busy: self = .busy
        case .noAnswer: self = .noAnswer
        case .failed: self = .failed(sip: sipResponseCode)
        case .canceled: self = .canceled
        }
    }

    /// The `call_jobs.last_outcome` and `call_attempts.outcome` spelling.
    public var name: String {
        switch self {
        case .human: "human"
        case .unknown: "unknown"
        case .completed: "completed"
        case .machine: "machine"
        case .busy: "busy"
        case .noAnswer: "no_answer"
        case .failed: "failed"
        case .canceled: "canceled"
        }
    }

    public var description: String { name }

    /// A person (or what must be treated as one) was reached: counted as a contact, apart from dial attempts.
    public var isContact: Bool {
        switch self {
        case .human, .unknown, .completed: true
        default: false
        }
    }

    /// The SIP codes that mean the number cannot be reached at all: terminal, reported as `invalid_phone`.
    public static let invalidNumberSIPCodes: Set<Int> = [404, 410, 484]
    /// The callee's network declined the call (603): terminal.
    public static let declinedSIPCode = 603
}
