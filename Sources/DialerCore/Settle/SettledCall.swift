import Foundation

/// A job waiting for its call's outcome whose final status is known, with everything the policy needs to decide: the
/// store returns all of it in one query (``JobStore/settledCalls(_:)``).
public struct SettledCall: Sendable, Hashable {
    public let jobID: Int64
    public let tenantID: String
    public let campaignID: String?
    public let destination: String
    public let callSID: String
    public let attempt: Int
    public let maxAttempts: Int
    public let expiresAt: Date?
    public let tenantWindow: DailyWindow?
    /// The call's final status and what came with it.
    public let status: CallStatus
    public let answeredBy: String?
    public let sipResponseCode: Int?
    public let callDuration: Int?
    /// The lead's dials so far, this call included, and those of the last 24 hours with the oldest of them.
    public let dials: Int
    public let dialsLast24h: Int
    public let oldestDialLast24h: Date?
    /// The results of the lead's earlier calls (`CallResult.name`), in no particular order.
    public let earlierResults: [String]
    /// The database's clock when the facts were read.
    public let now: Date

    public init(jobID: Int64, tenantID: String, campaignID: String?, destination: String, callSID: String, attempt: Int, maxAttempts: Int,
                expiresAt: Date?, tenantWindow: DailyWindow?, status: CallStatus, answeredBy: String?, sipResponseCode: Int?,
                callDuration: Int?, dials: Int, dialsLast24h: Int, oldestDialLast24h: Date?, earlierResults: [String], now: Date)
    {
        self.jobID = jobID
        self.tenantID = tenantID
        self.campaignID = campaignID
        self.destination = destination
        self.callSID = callSID
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.expiresAt = expiresAt
        self.tenantWindow = tenantWindow
        self.status = status
        self.answeredBy = answeredBy
        self.sipResponseCode = sipResponseCode
        self.callDuration = callDuration
        self.dials = dials
        self.dialsLast24h = dialsLast24h
        self.oldestDialLast24h = oldestDialLast24h
        self.earlierResults = earlierResults
        self.now = now
    }
}

/// What a call's final status makes of its job: the next state and the `call_attempts` row (kind `outcome`) that says
/// why. Built only by the constructors below, one per transition out of `awaiting_outcome`; written fenced on the job
/// still waiting for that very call, so a second settlement of the same call changes nothing.
public struct Settlement: Sendable, Hashable {
    public let jobID: Int64
    public let callSID: String
    public let attempt: Int
    public let state: JobState
    public let result: CallResult
    /// When a retried job may be dialed again.
    public let runAt: Date?
    public let error: OpenPhnError?
    public let detail: [String: JSONValue]

    private init(_ call: SettledCall, state: JobState, result: CallResult, runAt: Date? = nil, error: OpenPhnError? = nil,
                 detail: [String: JSONValue])
    {
        self.jobID = call.jobID
        self.callSID = call.callSID
        self.attempt = call.attempt
        self.state = state
        self.result = result
        self.runAt = runAt
        self.error = error
        self.detail = detail
    }

    /// awaiting_outcome -> completed: a contact, or an outcome the policy leaves at that (a machine not retried).
    public static func completed(_ call: SettledCall, _ result: CallResult, detail: [String: JSONValue]) -> Settlement {
        Settlement(call, state: .completed, result: result, detail: detail)
    }

    /// awaiting_outcome -> retrying: dialed again at `at` (the policy's delay, the 24-hour cap and the next legal window).
    public static func retry(_ call: SettledCall, _ result: CallResult, at: Date, detail: [String: JSONValue]) -> Settlement {
        Settlement(call, state: .retrying, result: result, runAt: at, detail: detail)
    }

    /// awaiting_outcome -> failed: the number is bad, the call was declined, or the lead's dials are spent.
    public static func failed(_ call: SettledCall, _ result: CallResult, error: OpenPhnError, detail: [String: JSONValue]) -> Settlement {
        Settlement(call, state: .failed, result: result, error: error, detail: detail)
    }

    /// awaiting_outcome -> cancelled: the call was canceled through Twilio's API.
    public static func cancelled(_ call: SettledCall, detail: [String: JSONValue]) -> Settlement {
        Settlement(call, state: .cancelled, result: .canceled, detail: detail)
    }
}
