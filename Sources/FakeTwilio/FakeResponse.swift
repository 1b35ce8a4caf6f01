import Foundation

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
