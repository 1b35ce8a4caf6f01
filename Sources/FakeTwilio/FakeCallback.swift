import Foundation

/// One callback the fake sent, tried to send, dropped on purpose, or refused to send (a callback URL not on loopback is
/// never contacted): a status callback, or the asynchronous AMD one.
public struct FakeCallback: Sendable, Codable, Hashable {
    public enum Result: String, Sendable, Codable, Hashable {
        /// The receiver answered (any HTTP status, in `httpStatus`).
        case delivered
        /// No HTTP answer (refused, timed out); `error` says why.
        case failed
        /// Not sent: the URL's host is not loopback.
        case skipped
        /// Not sent: a callback fault (``CallbackFaults/drop``, ``CallbackScript/dropAll``...) lost it, as Twilio can.
        case dropped
    }

    public enum Kind: String, Sendable, Codable, Hashable {
        /// A status callback (`StatusCallback`).
        case status
        /// The AMD verdict (`AsyncAmdStatusCallback`).
        case amd
    }

    public let kind: Kind
    public let callSID: String
    /// The URL as signed: the StatusCallback, plus the parameters for a GET.
    public let url: String
    public let method: String
    /// The `CallStatus` reported; for an AMD callback, the call's status when the verdict came.
    public let callStatus: String
    /// The `SequenceNumber`; `nil` for an AMD callback, which has none.
    public let sequenceNumber: Int?
    /// The `AnsweredBy` reported, if any.
    public let answeredBy: String?
    public let result: Result
    public let httpStatus: Int?
    public let error: String?
    public let at: Date

    enum CodingKeys: String, CodingKey {
        case kind, url, method, result, error, at
        case callSID = "call_sid"
        case callStatus = "call_status"
        case sequenceNumber = "sequence_number"
        case answeredBy = "answered_by"
        case httpStatus = "http_status"
    }
}
