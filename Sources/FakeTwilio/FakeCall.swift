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
    public let outcome: FakeCallOutcome

    enum CodingKeys: String, CodingKey {
        case sid, to, from, url, outcome
        case accountSID = "account_sid"
        case statusCallback = "status_callback"
        case statusCallbackMethod = "status_callback_method"
        case statusCallbackEvents = "status_callback_events"
        case createdAt = "created_at"
        case queueTime = "queue_time"
        case startTime = "start_time"
        case answerTime = "answer_time"
        case endTime = "end_time"
    }
}
