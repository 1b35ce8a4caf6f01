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

/// A strict reader of one JSON object's top-level fields (RFC 8259 grammar; nesting up to 64 levels).
private struct JSONFieldReader {
    struct Malformed: Error {}
    enum Scalar {
        case string(String)
        case number(Int?)
        case other
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func readBody() throws -> TwilioErrorBody {
        var body = TwilioErrorBody()
        skipSpace()
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpace()
                let key = try readString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                switch key {
                case "code": body.code = Self.integer(try readScalar())
                case "queue_time": body.queueTime = Self.integer(try readScalar())
                case "message": body.message = Self.string(try readScalar())
                case "sid": body.sid = Self.string(try readScalar())
                default: try skipValue(depth: 1)
                }
                skipSpace()
                let separator = try nextByte()
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else { throw Malformed() }
            }
        }
        skipSpace()
        guard index == bytes.count else { throw Malformed() }
        return body
    }

    private static func integer(_ scalar: Scalar) -> Int? {
        switch scalar {
        case .number(let value): value
        case .string(let text): Int(text)
        case .other: nil
        }
    }

    private static func string(_ scalar: Scalar) -> String? {
        if case .string(let text) = scalar { text } else { nil }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func nextByte() throws -> UInt8 {
        guard index < bytes.count else { throw Malformed() }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard try nextByte() == byte else { throw Malformed() }
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// A string, a number, or anything else (skipped, validated).
    private mutating func readScalar() throws -> Scalar {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default:
            try skipValue(depth: 1)
            return .other
        }
    }

    private mutating func skipValue(depth: Int) throws {
        guard depth <= 64 else { throw Malformed() }
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = try nextByte() == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            skipSpace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                skipSpace()
                if close == UInt8(ascii: "}") {
                    _ = try readString()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                let separator = try nextByte()
                if separator == close { return }
                guard separator == UInt8(ascii: ",") else { throw Malformed() }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try readNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Malformed() }
        for k in 0..<count where bytes[index + k] != word.utf8Start[k] { throw Malformed() }
        index += count
    }

    /// A JSON number; its value when it is an integer that fits an `Int`.
    private mutating func readNumber() throws -> Int? {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        guard index > digits, bytes[digits] != UInt8(ascii: "0") || index == digits + 1 else { throw Malformed() }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            let fraction = index
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            guard index > fraction else { throw Malformed() }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            guard index > exponent else { throw Malformed() }
        }
        guard integral else { return nil }
        return Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// A JSON string, escapes decoded; runs without escapes are copied whole.
    private mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out = ""
        var run = index
        while true {
            let byte = try nextByte()
            switch byte {
            case UInt8(ascii: "\""):
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<(index - 1)]), as: UTF8.self)
                return out
            case UInt8(ascii: "\\"):
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<(index - 1)]), as: UTF8.self)
                let escape = try nextByte()
                switch escape {
                case UInt8(ascii: "\""): out += "\""
                case UInt8(ascii: "\\"): out += "\\"
                case UInt8(ascii: "/"): out += "/"
                case UInt8(ascii: "b"): out += "\u{08}"
                case UInt8(ascii: "f"): out += "\u{0C}"
                case UInt8(ascii: "n"): out += "\n"
                case UInt8(ascii: "r"): out += "\r"
                case UInt8(ascii: "t"): out += "\t"
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        try expect(UInt8(ascii: "\\"))
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let decoded = Unicode.Scalar(scalar) else { throw Malformed() }
                    out.unicodeScalars.append(decoded)
                default: throw Malformed()
                }
                run = index
            case 0..<0x20: throw Malformed()
            default: continue
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try nextByte()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
