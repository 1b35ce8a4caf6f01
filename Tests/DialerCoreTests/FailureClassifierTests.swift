import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import DialerCore

@Suite("Failure classification")
struct FailureClassifierTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let status: Int
        let body: String
        let retryAfter: String?
        let kind: DialFailure.Kind?
        let code: ErrorCode?
        let possiblyDialed: Bool
        var testDescription: String { "HTTP \(status) \(body.prefix(40))" }
    }

    static func twilioError(_ code: Int, _ status: Int) -> String { #"{"code": \#(code), "message": "m", "more_info": "x", "status": \#(status)}"# }

    static let cases: [Case] = [
        Case(status: 429, body: twilioError(20429, 429), retryAfter: "7", kind: .rateLimited, code: .rateLimited, possiblyDialed: false),
        Case(status: 429, body: "", retryAfter: nil, kind: .rateLimited, code: .rateLimited, possiblyDialed: false),
        Case(status: 500, body: twilioError(20500, 500), retryAfter: nil, kind: .serverError, code: .upstreamUnavailable, possiblyDialed: true),
        Case(status: 502, body: "<html>bad gateway</html>", retryAfter: nil, kind: .serverError, code: .upstreamUnavailable, possiblyDialed: true),
        Case(status: 503, body: twilioError(20503, 503), retryAfter: "3", kind: .serverError, code: .upstreamUnavailable, possiblyDialed: true),
        Case(status: 504, body: "", retryAfter: nil, kind: .serverError, code: .upstreamUnavailable, possiblyDialed: true),
        Case(status: 408, body: "", retryAfter: nil, kind: .timeout, code: .upstreamUnavailable, possiblyDialed: true),
        Case(status: 400, body: twilioError(21211, 400), retryAfter: nil, kind: .rejected, code: .invalidPhone, possiblyDialed: false),
        Case(status: 400, body: twilioError(21217, 400), retryAfter: nil, kind: .rejected, code: .invalidPhone, possiblyDialed: false),
        Case(status: 400, body: twilioError(21214, 400), retryAfter: nil, kind: .rejected, code: .invalidPhone, possiblyDialed: false),
        Case(status: 400, body: twilioError(21210, 400), retryAfter: nil, kind: .rejected, code: .noActiveNumber, possiblyDialed: false),
        Case(status: 400, body: twilioError(21212, 400), retryAfter: nil, kind: .rejected, code: .noActiveNumber, possiblyDialed: false),
        Case(status: 404, body: twilioError(20404, 404), retryAfter: nil, kind: .rejected, code: .noActiveNumber, possiblyDialed: false),
        Case(status: 401, body: twilioError(20003, 401), retryAfter: nil, kind: .rejected, code: .carrierRejected, possiblyDialed: false),
        Case(status: 400, body: twilioError(21215, 400), retryAfter: nil, kind: .rejected, code: .carrierRejected, possiblyDialed: false),
        Case(status: 400, body: twilioError(21216, 400), retryAfter: nil, kind: .rejected, code: .carrierRejected, possiblyDialed: false),
        Case(status: 422, body: twilioError(20422, 422), retryAfter: nil, kind: .rejected, code: .carrierRejected, possiblyDialed: false),
        Case(status: 403, body: "", retryAfter: nil, kind: .rejected, code: .carrierRejected, possiblyDialed: false),
        Case(status: 201, body: #"{"status": "queued"}"#, retryAfter: nil, kind: .serverError, code: .upstreamUnavailable, possiblyDialed: true),
    ]

    @Test("every HTTP answer maps to the right class, code and doubt", arguments: cases)
    func classifies(_ c: Case) {
        guard case .failed(let failure) = FailureClassifier.classify(status: c.status, body: c.body, retryAfter: c.retryAfter) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == c.kind)
        #expect(failure.error.error == c.code)
        #expect(failure.possiblyDialed == c.possiblyDialed)
        #expect(failure.httpStatus == c.status)
        #expect(failure.isRetryable == (c.kind != .rejected))
    }

    @Test("a 201 with a call SID is dialed, with Twilio's queue time")
    func created() {
        let outcome = FailureClassifier.classify(status: 201, body: #"{"sid": "CA0123456789abcdef0123456789abcdef", "queue_time": "1500"}"#)
        #expect(outcome == .dialed(callSID: "CA0123456789abcdef0123456789abcdef", queueTimeMilliseconds: 1500))
    }

    @Test("the body reader takes the four fields from a whole Call, escapes decoded, other fields stepped over")
    func bodyReaderReadsACall() {
        let call = #"""
            {"account_sid": "AC0123456789abcdef0123456789abcdef", "annotation": null, "price": -0.0125, "duration": 1e3,
             "subresource_uris": {"events": "/x.json", "list": [1, [2, {"a": [true, false, null]}], "\\\"q\\\""]},
             "queue_time": 250, "sid": "CA0123456789abcdef0123456789abcdef", "status": "queued", "trailing": {}}
            """#
        #expect(TwilioErrorBody.parse(call) == TwilioErrorBody(sid: "CA0123456789abcdef0123456789abcdef", queueTime: 250))
        let error = #"{"code": "21211", "message": "The \"To\" number\n+1 555\u00e9 \ud83d\ude00 \/ is invalid", "status": 400}"#
        #expect(TwilioErrorBody.parse(error) == TwilioErrorBody(code: 21211, message: "The \"To\" number\n+1 555\u{e9} \u{1F600} / is invalid"))
        #expect(TwilioErrorBody.parse(" {} ") == TwilioErrorBody())
        // Fields of the wrong type read as absent; the rest of the body still counts.
        #expect(TwilioErrorBody.parse(#"{"code": 1.5, "message": 7, "sid": ["CA1"], "queue_time": "soon"}"#) == TwilioErrorBody())
        // Nesting is followed to 64 levels; deeper is refused rather than recursed into.
        func nested(_ depth: Int) -> String {
            #"{"a": "# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + #", "sid": "CA1"}"#
        }
        #expect(TwilioErrorBody.parse(nested(60)) == TwilioErrorBody(sid: "CA1"))
        #expect(TwilioErrorBody.parse(nested(70)) == TwilioErrorBody())
    }

    @Test("anything that is not one well-formed JSON object reads as empty", arguments: [
        "", "<html>502 Bad Gateway</html>", #"{"sid": "CA1""#, #"{"sid": "CA1"} x"#, #"{"sid": "CA1",}"#, #"{"sid" "CA1"}"#,
        #"{"sid": "CA1", "n": 01}"#, #"{"sid": "CA1", "n": 1.}"#, #"{"sid": "CA1", "x": tru}"#, #"{"sid": "C\q"}"#,
        #"{"sid": "\ud83d"}"#, "{\"sid\": \"CA\u{01}\"}", #"["CA1"]"#,
    ])
    func bodyReaderRefusesMalformed(_ body: String) {
        #expect(TwilioErrorBody.parse(body) == TwilioErrorBody())
    }

    @Test("a 429's Retry-After in seconds becomes the failure's delay and is reported in details")
    func retryAfterSeconds() throws {
        guard case .failed(let failure) = FailureClassifier.classify(status: 429, body: "", retryAfter: "12") else { throw Failure() }
        #expect(failure.retryAfter == .seconds(12))
        #expect(failure.error.details["retry_after_seconds"] == 12)
    }

    @Test("Twilio's code and message are kept in details of a terminal error")
    func keepsTwilioDetails() throws {
        guard case .failed(let failure) = FailureClassifier.classify(status: 400, body: Self.twilioError(21211, 400)) else { throw Failure() }
        #expect(failure.twilioCode == 21211)
        #expect(failure.error.details["twilio_code"] == 21211)
        #expect(failure.error.details["reason"] == "invalid_number")
    }

    @Test("a connection that never opened was not sent; a timeout or reset after sending may have dialed")
    func transport() {
        #expect(TransportFailure.classify(HTTPClientError.connectTimeout).possiblyDialed == false)
        #expect(TransportFailure.classify(HTTPClientError.connectTimeout).kind == .network)
        #expect(TransportFailure.classify(IOError(errnoCode: ECONNREFUSED, reason: "connect")).possiblyDialed == false)
        #expect(TransportFailure.classify(HTTPClientError.readTimeout).possiblyDialed == true)
        #expect(TransportFailure.classify(HTTPClientError.deadlineExceeded).kind == .timeout)
        #expect(TransportFailure.classify(HTTPClientError.remoteConnectionClosed).possiblyDialed == true)
        #expect(TransportFailure.classify(IOError(errnoCode: ECONNRESET, reason: "read")).possiblyDialed == true)
        #expect(TransportFailure.classify(CancellationError()).possiblyDialed == true)
        #expect(TransportFailure.classify(HTTPClientError.readTimeout).error.error == .upstreamUnavailable)
    }

    struct Failure: Error {}
}

@Suite("Retry-After")
struct RetryAfterTests {
    @Test("delay-seconds", arguments: [("0", 0), ("5", 5), ("120", 120)])
    func seconds(_ text: String, _ expected: Int) {
        #expect(RetryAfter.parse(text) == .seconds(expected))
    }

    @Test("an HTTP-date is measured against the server's Date header, not the local clock")
    func httpDate() {
        let delay = RetryAfter.parse("Wed, 25 Nov 2026 10:00:30 GMT", serverDate: "Wed, 25 Nov 2026 10:00:00 GMT", now: Date(timeIntervalSince1970: 0))
        #expect(delay == .seconds(30))
    }

    @Test("an HTTP-date without a server Date uses the local clock; a past date means no wait")
    func httpDateLocal() {
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let header = TwilioDate.format(now.addingTimeInterval(10))
        #expect(RetryAfter.parse(header, now: now) == .seconds(10))
        #expect(RetryAfter.parse(TwilioDate.format(now.addingTimeInterval(-10)), now: now) == .zero)
    }

    @Test("garbage and negative values are ignored", arguments: ["soon", "-3", ""])
    func garbage(_ text: String) {
        #expect(RetryAfter.parse(text) == nil)
    }

    enum TwilioDate {
        static func format(_ date: Date) -> String {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            return f.string(from: date)
        }
    }
}
