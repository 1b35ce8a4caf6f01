import Foundation

/// Turns Twilio's answer to Create Call into a ``DialOutcome``. Pure: no I/O, table-tested.
///
/// Twilio's own guidance is to classify by HTTP status first (new codes appear), then refine 4xx by Twilio's error code:
/// 201 dialed; 429 retryable, honouring Retry-After; 5xx retryable but possibly dialed (Create Call has no idempotency
/// key); every other 4xx terminal, mapped to the OpenPhn code a tenant can act on.
public enum FailureClassifier {
    /// Classifies an HTTP response.
    /// - Parameters:
    ///   - status: the HTTP status code.
    ///   - body: the response body (Twilio's JSON, or anything a proxy sent).
    ///   - retryAfter: the `Retry-After` header, if any.
    ///   - serverDate: the `Date` header, used to turn an HTTP-date `Retry-After` into a delay on Twilio's clock.
    ///   - now: the local clock, used when Twilio sent no `Date`.
    public static func classify(status: Int, body: String, retryAfter: String? = nil, serverDate: String? = nil, now: Date = Date()) -> DialOutcome {
        let twilio = TwilioErrorBody.parse(body)
        if status == 200 || status == 201 {
            guard let sid = twilio.sid, sid.hasPrefix("CA") else {
                // A success without a call SID: the call may exist but cannot be traced. Treat as possibly dialed.
                return .failed(DialFailure(kind: .serverError,
                    error: OpenPhnError(.upstreamUnavailable, "Twilio answered \(status) without a call SID.", details: ["http_status": .number(Double(status))]),
                    httpStatus: status, possiblyDialed: true))
            }
            return .dialed(callSID: sid, queueTimeMilliseconds: twilio.queueTime)
        }
        var details: [String: JSONValue] = ["http_status": .number(Double(status))]
        if let code = twilio.code { details["twilio_code"] = .number(Double(code)) }
        if let message = twilio.message { details["twilio_message"] = .string(String(message.prefix(300))) }
        let delay = retryAfter.flatMap { RetryAfter.parse($0, serverDate: serverDate, now: now) }
        if let delay { details["retry_after_seconds"] = .number(Double(delay.components.seconds)) }

        switch status {
        case 429:
            return .failed(DialFailure(kind: .rateLimited,
                error: OpenPhnError(.rateLimited, "Twilio is rate limiting this account (HTTP 429); the call was not placed.", details: details),
                httpStatus: status, twilioCode: twilio.code, retryAfter: delay, possiblyDialed: false))
        case 500...599:
            return .failed(DialFailure(kind: .serverError,
                error: OpenPhnError(.upstreamUnavailable, "Twilio answered HTTP \(status); the call may or may not have been placed.", details: details),
                httpStatus: status, twilioCode: twilio.code, retryAfter: delay, possiblyDialed: true))
        case 408:
            return .failed(DialFailure(kind: .timeout,
                error: OpenPhnError(.upstreamUnavailable, "Twilio timed out the request (HTTP 408).", details: details),
                httpStatus: status, twilioCode: twilio.code, retryAfter: delay, possiblyDialed: true))
        default:
            let (code, reason, message) = terminal(status: status, twilioCode: twilio.code)
            details["reason"] = .string(reason)
            return .failed(DialFailure(kind: .rejected, error: OpenPhnError(code, message, details: details),
                                       httpStatus: status, twilioCode: twilio.code, possiblyDialed: false))
        }
    }

    /// The OpenPhn code, a short reason tag and a message for a terminal 4xx (twilio.md section 2.3).
    static func terminal(status: Int, twilioCode: Int?) -> (ErrorCode, String, String) {
        switch twilioCode {
        case 21211, 21217:
            (.invalidPhone, "invalid_number", "Twilio rejected the destination as not a valid phone number.")
        case 21214:
            (.invalidPhone, "unreachable_destination", "Twilio cannot route a call to the destination.")
        case 21210:
            (.noActiveNumber, "caller_not_verified", "The caller number is not a Twilio number or verified caller ID of the tenant's subaccount.")
        case 21212, 21213:
            (.noActiveNumber, "invalid_caller_id", "Twilio rejected the caller number.")
        case 20404:
            (.noActiveNumber, "account_not_found", "The tenant's Twilio subaccount was not found or is not accessible.")
        case 20003, 20005, 10001, 20008:
            (.carrierRejected, "auth_failed", "Twilio refused the platform's credentials for this subaccount.")
        case 21215, 21203:
            (.carrierRejected, "geo_permission", "The subaccount's geographic permissions do not allow calling the destination.")
        case 21216:
            (.carrierRejected, "blocked_destination", "Twilio blocked calls to the destination.")
        case 21202:
            (.carrierRejected, "premium_destination", "The destination is a premium-rate number.")
        case 21219:
            (.carrierRejected, "trial_unverified_to", "Trial subaccounts may only call verified numbers.")
        case 21205, 21218, 21609, 21626:
            (.carrierRejected, "bad_call_configuration", "Twilio rejected the call's TwiML or callback configuration.")
        default:
            switch status {
            case 401, 403: (.carrierRejected, "auth_failed", "Twilio refused the platform's credentials (HTTP \(status)).")
            case 404: (.noActiveNumber, "account_not_found", "The tenant's Twilio subaccount was not found (HTTP 404).")
            default: (.carrierRejected, "rejected", "Twilio rejected the call request (HTTP \(status)).")
            }
        }
    }
}

/// The fields of a Twilio JSON body the worker reads: the call SID on success, the error code and message on failure.
/// This is on the hot path (one body per dial), so a small scanner reads the four fields straight from the bytes and
/// steps over the other thirty fields of a Call without building them. It still checks the whole text is one JSON object:
/// anything else (an HTML error page, a cut-off body) reads as empty, and a 201 without a SID is then treated as possibly
/// dialed by the classifier. `code` and `queue_time` are read from a number or from a string of digits.
struct TwilioErrorBody: Equatable {
    var code: Int?
    var message: String?
    var sid: String?
    var queueTime: Int?

    init(code: Int? = nil, message: String? = nil, sid: String? = nil, queueTime: Int? = nil) {
        self.code = code
        self.message = message
        self.sid = sid
        self.queueTime = queueTime
    }

    static func parse(_ text: String) -> TwilioErrorBody {
        var text = text
        return text.withUTF8 { bytes in
            var reader = JSONFieldReader(bytes: bytes)
            return (try? reader.readBody()) ?? TwilioErrorBody()
        }
    }
}
