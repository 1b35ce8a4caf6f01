import Foundation

/// A call the fake accepted (and so, in Twilio terms, created), with its whole timeline fixed at creation: its status
/// at any instant is computed from these timestamps when it is read (``status(at:)``), so no timer runs per call.
public struct FakeCall: Sendable, Codable, Hashable {
    public let sid: String
    public let accountSID: String
    public let to: String
    public let from: String
    public let url: String
    public let statusCallback: String?
    /// `POST` (Twilio's default) or `GET`.
    public let statusCallbackMethod: String
    /// The `StatusCallbackEvent` values of the request (`initiated`, `ringing`, `answered`, `completed`), as sent.
    public let statusCallbackEvents: [String]
    /// The request's `Timeout` (ring seconds, 1 to 600); `nil` when absent.
    public let timeout: Int?
    /// The request's `TimeLimit` (most seconds answered); `nil` when absent.
    public let timeLimit: Int?
    /// The request's `MachineDetection`; `nil` when absent (then nothing reports `AnsweredBy`).
    public let machineDetection: MachineDetection?
    /// The request's `AsyncAmd`.
    public let asyncAmd: Bool
    public let asyncAmdStatusCallback: String?
    public let asyncAmdStatusCallbackMethod: String
    /// How many calls to `to` the fake created before this one: with the seed, it keys the call's dice (``FakeDice``).
    public let dialIndex: Int
    /// What happens to this call's callbacks, when its destination scripted it; `nil` leaves them to the random faults.
    public let callbackScript: CallbackScript?
    /// On the fake's clock, like every instant below.
    public let createdAt: Date
    /// Milliseconds the call waits in the account's calls-per-second queue before it is placed (the 201's `queue_time`).
    public let queueTime: Int
    /// When it leaves `queued`: Twilio places it (`start_time`, the `initiated` and `ringing` callbacks).
    public let startTime: Date
    /// When the callee answered (`in-progress`); `nil` for a call that ends busy, unanswered or failed.
    public let answerTime: Date?
    /// When it ended with its outcome's status (`end_time`, the `completed` callback).
    public let endTime: Date
    /// What happened: the final status, SIP code, duration and (with AMD) the reported `AnsweredBy`.
    public let outcome: FakeCallOutcome
    /// When AMD reached its verdict (the Call resource's `answered_by` is set from then on; the async AMD callback is
    /// sent then); `nil` without AMD or an answer.
    public let amdTime: Date?
    /// `MachineDetectionDuration` of the verdict, in milliseconds.
    public let machineDetectionDuration: Int?

    enum CodingKeys: String, CodingKey {
        case sid, to, from, url, outcome, timeout
        case accountSID = "account_sid"
        case statusCallback = "status_callback"
        case statusCallbackMethod = "status_callback_method"
        case statusCallbackEvents = "status_callback_events"
        case timeLimit = "time_limit"
        case machineDetection = "machine_detection"
        case asyncAmd = "async_amd"
        case asyncAmdStatusCallback = "async_amd_status_callback"
        case asyncAmdStatusCallbackMethod = "async_amd_status_callback_method"
        case dialIndex = "dial_index"
        case callbackScript = "callbacks"
        case createdAt = "created_at"
        case queueTime = "queue_time"
        case startTime = "start_time"
        case answerTime = "answer_time"
        case endTime = "end_time"
        case amdTime = "amd_time"
        case machineDetectionDuration = "machine_detection_duration"
    }
}
