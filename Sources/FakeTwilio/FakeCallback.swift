import Foundation

/// One status callback the fake sent, tried to send, or refused to send (a callback URL not on loopback is never contacted).
public struct FakeCallback: Sendable, Codable, Hashable {
    public enum Result: String, Sendable, Codable, Hashable {
        /// The receiver answered (any HTTP status, in `httpStatus`).
        case delivered
        /// No HTTP answer (refused, timed out); `error` says why.
        case failed
        /// Not sent: the URL's host is not loopback.
        case skipped
    }

    public let callSID: String
    /// The URL as signed: the StatusCallback, plus the parameters for a GET.
    public let url: String
    public let method: String
    public let callStatus: String
    public let sequenceNumber: Int
    public let result: Result
    public let httpStatus: Int?
    public let error: String?
    public let at: Date

    enum CodingKeys: String, CodingKey {
        case url, method, result, error, at
        case callSID = "call_sid"
        case callStatus = "call_status"
        case sequenceNumber = "sequence_number"
        case httpStatus = "http_status"
    }
}
