import Foundation

/// How a created call ends, scripted per destination; it decides the status callbacks (twilio.md section 5).
public struct FakeCallOutcome: Sendable, Codable, Hashable {
    /// The final `CallStatus`.
    public enum Status: String, Sendable, Codable, Hashable {
        case completed, busy, failed
        case noAnswer = "no-answer"
    }

    public var status: Status
    /// `SipResponseCode` of the final callback; defaults to 200, 486, 487 or 500 by status.
    public var sipResponseCode: Int?
    /// Seconds an answered call stays `in-progress` (default: the fake's `Timings.inProgress`); it is also the
    /// `CallDuration` reported. Calls not answered last 0 seconds.
    public var durationSeconds: Int?

    public init(status: Status = .completed, sipResponseCode: Int? = nil, durationSeconds: Int? = nil) {
        self.status = status
        self.sipResponseCode = sipResponseCode
        self.durationSeconds = durationSeconds
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
    }
}
