import Foundation

/// A call the fake accepted (and so, in Twilio terms, created).
public struct FakeCall: Sendable, Codable, Hashable {
    public let sid: String
    public let accountSID: String
    public let to: String
    public let from: String
    public let url: String
    public let statusCallback: String?
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case sid, to, from, url
        case accountSID = "account_sid"
        case statusCallback = "status_callback"
        case createdAt = "created_at"
    }
}

/// One scripted answer for a destination, used instead of the normal behaviour (fault injection).
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

    public init(status: Int, code: Int? = nil, retryAfter: String? = nil, delayMilliseconds: Int? = nil, createFirst: Bool? = nil) {
        self.status = status
        self.code = code
        self.retryAfter = retryAfter
        self.delayMilliseconds = delayMilliseconds
        self.createFirst = createFirst
    }

    enum CodingKeys: String, CodingKey {
        case status, code
        case retryAfter = "retry_after"
        case delayMilliseconds = "delay_ms"
        case createFirst = "create_first"
    }
}

/// The fake's state: the ledger of created calls (ground truth for how often each destination was dialed) and the
/// scripted answers still to give.
public actor FakeTwilioLedger {
    public private(set) var calls: [FakeCall] = []
    /// Every Create Call request received, accepted or not.
    public private(set) var requests = 0
    private var scripts: [String: [FakeResponse]] = [:]
    /// Answers for any destination without a script of its own, used in order (then normal behaviour).
    private var globalScript: [FakeResponse] = []

    public init() {}

    /// Queues answers for calls to `to`; each request to it takes the next one.
    public func script(to: String, _ responses: [FakeResponse]) {
        scripts[to, default: []] += responses
    }

    /// Queues answers for the next requests to any destination without its own script.
    public func scriptAll(_ responses: [FakeResponse]) {
        globalScript += responses
    }

    public func reset() {
        calls.removeAll()
        requests = 0
        scripts.removeAll()
        globalScript.removeAll()
    }

    /// Calls created for one destination.
    public func calls(to: String) -> [FakeCall] { calls.filter { $0.to == to } }

    func nextResponse(for to: String) -> FakeResponse? {
        requests += 1
        if var queue = scripts[to], !queue.isEmpty {
            let next = queue.removeFirst()
            scripts[to] = queue
            return next
        }
        return globalScript.isEmpty ? nil : globalScript.removeFirst()
    }

    func create(accountSID: String, to: String, from: String, url: String, statusCallback: String?) -> FakeCall {
        let call = FakeCall(sid: "CA" + TwilioBodies.hex(32), accountSID: accountSID, to: to, from: from, url: url, statusCallback: statusCallback, createdAt: Date())
        calls.append(call)
        return call
    }
}
