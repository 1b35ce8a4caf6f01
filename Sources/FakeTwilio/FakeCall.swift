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

/// One scripted answer for a destination, used instead of the normal behaviour (fault injection).
///
/// JSON (`POST /_fake/script`, `dialer fake-twilio --script`): `{"status": 500, "create_first": true}`,
/// `{"status": 429, "retry_after": "2"}`, `{"reset_connection": true, "create_first": true}`; `status` defaults to 201.
public struct FakeResponse: Sendable, Codable, Hashable {
    /// HTTP status to answer; 201 answers normally (after `delayMilliseconds`).
    public var status: Int
    /// Twilio error code for the body (defaults by status).
    public var code: Int?
    /// `Retry-After` header value, sent as is.
    public var retryAfter: String?
    /// Wait this long before answering (past the client's timeout it becomes a timeout for the client).
    public var delayMilliseconds: Int?
    /// Create the call (it enters the ledger) and then answer `status` anyway: Twilio's 5xx-after-create.
    public var createFirst: Bool?
    /// Answer nothing: reset the TCP connection (RST) instead of writing a response; `status` is ignored. With
    /// `createFirst` the call exists first, the most ambiguous failure a client can see.
    public var resetConnection: Bool?

    public init(status: Int, code: Int? = nil, retryAfter: String? = nil, delayMilliseconds: Int? = nil, createFirst: Bool? = nil,
                resetConnection: Bool? = nil)
    {
        self.status = status
        self.code = code
        self.retryAfter = retryAfter
        self.delayMilliseconds = delayMilliseconds
        self.createFirst = createFirst
        self.resetConnection = resetConnection
    }

    /// The connection is reset without an answer, after the call was created when `createFirst` is true.
    public static func connectionReset(createFirst: Bool) -> FakeResponse {
        FakeResponse(status: 0, createFirst: createFirst, resetConnection: true)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        status = try c.decodeIfPresent(Int.self, forKey: .status) ?? 201
        code = try c.decodeIfPresent(Int.self, forKey: .code)
        retryAfter = try c.decodeIfPresent(String.self, forKey: .retryAfter)
        delayMilliseconds = try c.decodeIfPresent(Int.self, forKey: .delayMilliseconds)
        createFirst = try c.decodeIfPresent(Bool.self, forKey: .createFirst)
        resetConnection = try c.decodeIfPresent(Bool.self, forKey: .resetConnection)
    }

    enum CodingKeys: String, CodingKey {
        case status, code
        case retryAfter = "retry_after"
        case delayMilliseconds = "delay_ms"
        case createFirst = "create_first"
        case resetConnection = "reset_connection"
    }
}

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

/// A script entry as `POST /_fake/script` and `dialer fake-twilio --script` read it.
public struct FakeScript: Sendable, Decodable {
    /// The destination; absent, the responses apply to any destination without a script of its own.
    public var to: String?
    public var responses: [FakeResponse]
    /// How calls to `to` end (status callbacks).
    public var outcome: FakeCallOutcome?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decodeIfPresent(String.self, forKey: .to)
        responses = try c.decodeIfPresent([FakeResponse].self, forKey: .responses) ?? []
        outcome = try c.decodeIfPresent(FakeCallOutcome.self, forKey: .outcome)
    }

    enum CodingKeys: String, CodingKey { case to, responses, outcome }
}
