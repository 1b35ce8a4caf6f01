import Foundation

/// The stable, machine-readable error codes of OpenPhn's public contract, plus the few the worker needs for outcomes the
/// public API never produces (marked below). Clients switch on the raw value, so raw values never change.
public enum ErrorCode: String, Sendable, Codable, CaseIterable {
    case dncBlocked = "dnc_blocked"
    case callHoursViolation = "call_hours_violation"
    case noActiveNumber = "no_active_number"
    case invalidPhone = "invalid_phone"
    case outcomeSchemaInvalid = "outcome_schema_invalid"
    case verificationPending = "verification_pending"
    case rateLimited = "rate_limited"
    /// 400/422 of the contract: a malformed or invalid request field other than the phone number and schema.
    case invalidRequest = "invalid_request"
    /// 404 of the contract: the tenant, number or job does not exist (or is not the tenant's).
    case notFound = "not_found"
    /// 409 of the contract: an idempotency key reused with a different body.
    case idempotencyConflict = "idempotency_conflict"
    /// Worker extension: Twilio kept failing (5xx, network, timeout) until the job's attempts ran out.
    case upstreamUnavailable = "upstream_unavailable"
    /// Worker extension: Twilio refused the call for a reason the public codes do not name (auth, geo permission, blocklist).
    case carrierRejected = "carrier_rejected"
    /// Worker extension: the job reached its expires_at before it could be dialed.
    case jobExpired = "job_expired"
    /// Worker extension: the worker holding the job died before recording an outcome, and attempts ran out.
    case workerLost = "worker_lost"
    /// Worker extension: the callee's network declined the call (SIP 603); not retried.
    case callDeclined = "call_declined"
    /// Worker extension: the campaign policy will not dial the lead again (its outcome is not retried, or its retries,
    /// dials or attempts are spent); `details.last_outcome` and `details.reason` say which.
    case leadExhausted = "lead_exhausted"
    /// `dialer serve` extension: a Twilio webhook whose `X-Twilio-Signature` is missing or does not match (403).
    case invalidSignature = "invalid_signature"
    /// 401 of the contract: the `Authorization: Bearer` header is missing, malformed or not a token this server accepts.
    case invalidToken = "invalid_token"
    /// 401 of the contract: the API key was revoked (`dialer keys revoke`).
    case keyRevoked = "key_revoked"
    /// 401 of the contract: the API key is past its `expires_at`, or past the grace period of its rotation.
    case keyExpired = "key_expired"
    /// 403 of the contract: the API key lacks the route's scope; `details.scope` names it.
    case scopeRequired = "scope_required"
    /// 403 of the contract: the API key is pinned to caller numbers and the request's `from` is not one of them.
    case numberNotAllowed = "number_not_allowed"
    /// 403 of the contract: a dashboard session JWT sent to a `/v1` route, which takes API keys only.
    case dashboardOnly = "dashboard_only"
    /// OpenPhn extension (422): the call lacks the consent its purpose needs with an AI voice (FCC 24-17): any call needs
    /// prior express consent, a telemarketing call prior express written consent. Refused at enqueue and, for a job
    /// whose evidence is missing when it is dialed, blocked by the gate (terminal, like `dnc_blocked`).
    /// `details`: `purpose`, `required` (`prior_express_written` or `prior_express`), `consent_type` (null: none).
    case consentRequired = "consent_required"
    /// Console extension (401): the operator console's page or form needs a signed-in session (none, expired, or signed out).
    case signinRequired = "signin_required"
    /// Console extension (401): the operator name or password is wrong (which of the two is not said), or the account is disabled.
    case signinFailed = "signin_failed"
    /// Console extension (403): a console form came without its session's CSRF token, with another one, or from another origin.
    case csrfRejected = "csrf_rejected"
    /// Console extension (403): the operator's role may not do this (a viewer acting); `details.role` names the role needed.
    case roleRequired = "role_required"

    /// The HTTP status the public API pairs with this code.
    public var httpStatus: Int {
        switch self {
        case .invalidPhone, .invalidRequest: 400
        case .invalidToken, .keyRevoked, .keyExpired, .signinRequired, .signinFailed: 401
        case .verificationPending, .invalidSignature, .scopeRequired, .numberNotAllowed, .dashboardOnly, .csrfRejected, .roleRequired: 403
        case .notFound: 404
        case .idempotencyConflict: 409
        case .outcomeSchemaInvalid, .dncBlocked, .callHoursViolation, .noActiveNumber, .jobExpired, .callDeclined, .leadExhausted, .consentRequired: 422
        case .rateLimited: 429
        case .carrierRejected: 502
        case .upstreamUnavailable, .workerLost: 503
        }
    }
}

/// The one error type of OpenPhn: `{error, message, details}`, exactly the public JSON shape.
///
/// `message` is safe to show an end user: it never holds credentials; it names the destination only where the public
/// contract does (for example `dnc_blocked`).
public struct OpenPhnError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    public var error: ErrorCode
    public var message: String
    public var details: [String: JSONValue]
    /// The HTTP status when it is not the code's own: `invalid_request` is 400 for a malformed request (a missing
    /// field, a bad type) and 422 for a well-formed one whose values fail validation (an objective too long, a number
    /// out of range), as the contract's table says. Not part of the JSON.
    public var status: Int?

    private enum CodingKeys: String, CodingKey { case error, message, details }

    public init(_ error: ErrorCode, _ message: String, details: [String: JSONValue] = [:], status: Int? = nil) {
        self.error = error
        self.message = message
        self.details = details
        self.status = status
    }

    /// The status this error is answered with over HTTP.
    public var httpStatus: Int { status ?? error.httpStatus }

    /// The contract's JSON object, keys sorted.
    public var json: JSONValue { .object(["error": .string(error.rawValue), "message": .string(message), "details": .object(details)]) }
    public var jsonText: String { json.jsonText }

    public var description: String { "\(error.rawValue): \(message)" }

    /// Decodes the JSON stored in `call_jobs.last_error`.
    public static func parse(_ text: String) -> OpenPhnError? {
        try? JSONDecoder().decode(OpenPhnError.self, from: Data(text.utf8))
    }

    public func with(_ key: String, _ value: JSONValue) -> OpenPhnError {
        var copy = self
        copy.details[key] = value
        return copy
    }
}

extension OpenPhnError {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        error = try c.decode(ErrorCode.self, forKey: .error)
        message = try c.decode(String.self, forKey: .message)
        details = try c.decodeIfPresent([String: JSONValue].self, forKey: .details) ?? [:]
    }
}
