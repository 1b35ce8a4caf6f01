import Testing

@testable import DialerCore

@Suite("Backoff and retry policy")
struct RetryPolicyTests {
    let failure503 = DialFailure(kind: .serverError, error: OpenPhnError(.upstreamUnavailable, "Twilio answered HTTP 503."), httpStatus: 503, possiblyDialed: true)

    @Test("the nominal schedule doubles from the base and stops at the cap")
    func schedule() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(10))
        #expect((1...6).map { backoff.nominal(afterAttempt: $0) } == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
    }

    @Test("jitter stays within +-10% for jitter 0.2 and never passes the cap")
    func jitterBounds() {
        let backoff = Backoff(base: .seconds(1), cap: .seconds(8), jitter: 0.2)
        var random = SystemRandomNumberGenerator()
        for attempt in 1...5 {
            for _ in 0..<200 {
                let delay = backoff.delay(afterAttempt: attempt, using: &random).seconds
                let nominal = backoff.nominal(afterAttempt: attempt).seconds
                #expect(delay >= nominal * 0.9 && delay <= min(nominal * 1.1, 8))
            }
        }
    }

    @Test("a retryable failure with attempts left is retried after the backoff")
    func retries() {
        var random = SystemRandomNumberGenerator()
        let policy = RetryPolicy(backoff: Backoff(base: .seconds(2), jitter: 0))
        #expect(policy.decide(failure503, attempt: 2, maxAttempts: 4, using: &random) == .retry(after: .seconds(4)))
    }

    @Test("a 429 is not retried before its Retry-After, even when the backoff is shorter")
    func honoursRetryAfter() {
        var random = SystemRandomNumberGenerator()
        let policy = RetryPolicy(backoff: Backoff(base: .seconds(1), jitter: 0))
        let limited = DialFailure(kind: .rateLimited, error: OpenPhnError(.rateLimited, "429"), httpStatus: 429, retryAfter: .seconds(30))
        #expect(policy.decide(limited, attempt: 1, maxAttempts: 4, using: &random) == .retry(after: .seconds(30)))
        let capped = RetryPolicy(backoff: Backoff(base: .seconds(1), jitter: 0), maxRetryAfter: .seconds(10))
        #expect(capped.decide(limited, attempt: 1, maxAttempts: 4, using: &random) == .retry(after: .seconds(10)))
    }

    @Test("when attempts run out the job fails with the last error and the attempt count")
    func exhausted() throws {
        var random = SystemRandomNumberGenerator()
        guard case .fail(let error) = RetryPolicy().decide(failure503, attempt: 4, maxAttempts: 4, using: &random) else {
            Issue.record("expected fail")
            return
        }
        #expect(error.error == .upstreamUnavailable)
        #expect(error.details["attempts"] == 4)
        #expect(error.details["max_attempts"] == 4)
        #expect(error.details["failure"] == "server_error")
    }

    @Test("a terminal failure fails at once, whatever attempts are left")
    func terminal() {
        var random = SystemRandomNumberGenerator()
        let rejected = DialFailure(kind: .rejected, error: OpenPhnError(.invalidPhone, "bad"), httpStatus: 400, twilioCode: 21211)
        guard case .fail(let error) = RetryPolicy().decide(rejected, attempt: 1, maxAttempts: 4, using: &random) else {
            Issue.record("expected fail")
            return
        }
        #expect(error.error == .invalidPhone)
    }
}
