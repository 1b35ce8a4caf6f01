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
