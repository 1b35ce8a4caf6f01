import Foundation
import Testing

@testable import DialerCore

/// Every path of the pure transition function, without a database: the gate's verdict, the pacing wait, a stop, and
/// each kind of Twilio answer (or lookup answer) in, one typed outcome out.
@Suite("Dial transitions")
struct DialTransitionTests {
    /// Always draws 0: jitter and spread are at their minimum, so delays are exact.
    struct ZeroRandom: RandomNumberGenerator {
        mutating func next() -> UInt64 { 0 }
    }

    static let now = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!
    static let transition = DialTransition(
        retryPolicy: RetryPolicy(backoff: Backoff(base: .seconds(10), cap: .seconds(300), jitter: 0.2)),
        gate: DialGate(spread: .seconds(300)), reconcileDelay: .seconds(30), pacingMaxAhead: .seconds(1), maxPacingWait: .seconds(30))
    static let job = JobRef(jobID: 42, attempt: 2, maxAttempts: 3)
    static let lastAttempt = JobRef(jobID: 42, attempt: 3, maxAttempts: 3)
    static let allow = GateDecision.allow(rule: "US-FED 08:00-21:00 America/New_York", audit: ["region": "US-NY"])

    static func next(_ gate: GateDecision = allow, job: JobRef = job, paced: Duration = .zero, stopping: Bool = false, dial: DialOutcome? = nil)
        -> DialTransition.Step
    {
        var random = ZeroRandom()
        return transition.next(job, gate: gate, at: now, paced: paced, stopping: stopping, dial: dial, using: &random)
    }

    static func outcome(_ step: DialTransition.Step, sourceLocation: SourceLocation = #_sourceLocation) throws -> JobOutcome {
        guard case .record(let outcome) = step else {
            Issue.record("expected an outcome, got \(step)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return outcome
    }

    static let serverError = DialFailure(kind: .serverError, error: OpenPhnError(.upstreamUnavailable, "Twilio answered HTTP 500."),
                                         httpStatus: 500, twilioCode: 20500, possiblyDialed: true)
    static let refused = DialFailure(kind: .network, error: OpenPhnError(.upstreamUnavailable, "Connection refused."))
    static let rateLimited = DialFailure(kind: .rateLimited, error: OpenPhnError(.rateLimited, "Too many requests."), httpStatus: 429,
                                         twilioCode: 20429, retryAfter: .seconds(120))
    static let invalid = DialFailure(kind: .rejected, error: OpenPhnError(.invalidPhone, "The 'To' number is not valid."), httpStatus: 400,
                                     twilioCode: 21211)

    @Test("a block fails the job at the gate, spending the attempt, with the gate's error and rule")
    func block() throws {
        let error = OpenPhnError(.dncBlocked, "On the global DNC list.")
        let outcome = try Self.outcome(Self.next(.block(error, rule: "global DNC list", audit: ["list": "global"])))
        #expect(outcome.state == .failed && outcome.kind == .gate && outcome.outcome == .block)
        #expect(outcome.error == error && !outcome.refundAttempt && outcome.delay == nil && outcome.callSID == nil)
        #expect(outcome.detail?["rule"] == "global DNC list" && outcome.detail?["list"] == "global")
    }

    @Test("a deferral refunds the attempt and waits until the window opens (plus the spread)")
    func deferral() throws {
        let until = Self.now.addingTimeInterval(3_600)
        let outcome = try Self.outcome(Self.next(.defer(until: until, OpenPhnError(.callHoursViolation, "Too late."), rule: "CA 08:00-21:00")))
        #expect(outcome.state == .deferred && outcome.kind == .gate && outcome.outcome == .defer && outcome.refundAttempt)
        #expect(outcome.delay == .seconds(3_600))
        #expect(outcome.error?.error == .callHoursViolation)
        #expect(outcome.detail?["next_allowed_at"] == "2026-12-02T19:00:00Z")
    }

    @Test("allowed and nothing in the way: dial, with the gate's audit for the attempt row")
    func dial() throws {
        guard case .dial(let detail) = Self.next() else {
            Issue.record("expected a dial")
            return
        }
        #expect(detail["gate"] == "allow" && detail["rule"] == "US-FED 08:00-21:00 America/New_York" && detail["region"] == "US-NY")
    }

    @Test("stopping before the dial hands the job back untouched, even after a long pacing wait")
    func stopping() throws {
        for paced in [Duration.zero, .seconds(31)] {
            let outcome = try Self.outcome(Self.next(paced: paced, stopping: true))
            #expect(outcome.state == .queued && outcome.kind == .release && outcome.outcome == .released && outcome.refundAttempt)
            #expect(outcome.delay == nil)
        }
    }

    @Test("a job that waited the whole pacing limit is handed back for later, attempt refunded")
    func paced() throws {
        let outcome = try Self.outcome(Self.next(paced: .seconds(30)))
        #expect(outcome.state == .queued && outcome.kind == .pace && outcome.outcome == .paced && outcome.refundAttempt)
        #expect(outcome.delay == .seconds(1) && outcome.detail?["waited_seconds"] == 30)
        guard case .dial = Self.next(paced: .seconds(29)) else {
            Issue.record("a wait under the limit still dials")
            return
        }
    }

    @Test("a 201 records the call SID and Twilio's queue time")
    func dialed() throws {
        let sid = "CA" + String(repeating: "a", count: 32)
        let outcome = try Self.outcome(Self.next(dial: .dialed(callSID: sid, queueTimeMilliseconds: 250)))
        #expect(outcome.state == .awaitingOutcome && outcome.kind == .dial && outcome.outcome == .dialed && outcome.callSID == sid)
        #expect(outcome.httpStatus == 201 && !outcome.refundAttempt && outcome.error == nil && !outcome.possiblyDialed)
        #expect(outcome.detail?["queue_time_ms"] == 250 && outcome.detail?["gate"] == "allow")
    }

    @Test("an answer that may have created the call puts the job in doubt: reconciled, never re-dialed first")
    func inDoubt() throws {
        for job in [Self.job, Self.lastAttempt] {
            let outcome = try Self.outcome(Self.next(job: job, dial: .failed(Self.serverError)))
            #expect(outcome.state == .inDoubt && outcome.kind == .dial && outcome.outcome == .inDoubt && outcome.possiblyDialed)
            #expect(outcome.delay == .seconds(30) && outcome.httpStatus == 500 && outcome.twilioCode == 20500 && outcome.failure == .serverError)
            #expect(outcome.detail?["reconcile_in_seconds"] == 30)
        }
    }

    @Test("a retryable failure with attempts left is retried after the backoff, or after Retry-After when longer")
    func retrying() throws {
        let refused = try Self.outcome(Self.next(dial: .failed(Self.refused)))
        #expect(refused.state == .retrying && refused.outcome == .retryable && refused.retryClass == "network")
        // Backoff after the 2nd attempt: 20 s nominal, -10% at the minimum draw.
        #expect(refused.delay == .seconds(18) && refused.detail?["retry_in_seconds"] == 18 && !refused.possiblyDialed)
        let limited = try Self.outcome(Self.next(dial: .failed(Self.rateLimited)))
        #expect(limited.state == .retrying && limited.delay == .seconds(120) && limited.retryClass == "rate_limited")
        #expect(limited.httpStatus == 429 && limited.twilioCode == 20429 && limited.error?.error == .rateLimited)
    }

    @Test("a retryable failure on the last attempt fails the job with the attempts in its details")
    func attemptsSpent() throws {
        let outcome = try Self.outcome(Self.next(job: Self.lastAttempt, dial: .failed(Self.refused)))
        #expect(outcome.state == .failed && outcome.kind == .dial && outcome.outcome == .retryable)
        #expect(outcome.error?.error == .upstreamUnavailable && outcome.error?.details["attempts"] == 3 && outcome.error?.details["max_attempts"] == 3)
    }

    @Test("a terminal answer fails the job at once, whatever attempts are left")
    func terminal() throws {
        let outcome = try Self.outcome(Self.next(dial: .failed(Self.invalid)))
        #expect(outcome.state == .failed && outcome.outcome == .terminal && outcome.error?.error == .invalidPhone)
        #expect(outcome.httpStatus == 400 && outcome.twilioCode == 21211 && outcome.delay == nil)
    }

    @Test("reconciliation: found settles the job with that SID; unreachable asks again; not found retries or fails")
    func reconciled() {
        var random = ZeroRandom()
        let t = Self.transition
        let sid = "CA" + String(repeating: "b", count: 32)
        let found = t.afterLookup(Self.job, .found(callSID: sid), lastError: nil, using: &random)
        #expect(found.state == .awaitingOutcome && found.kind == .reconcile && found.outcome == .found && found.callSID == sid)
        let unreachable = t.afterLookup(Self.job, .unreachable("HTTP 503"), lastError: nil, using: &random)
        #expect(unreachable.state == .inDoubt && unreachable.outcome == .unreachable && unreachable.delay == .seconds(30))
        #expect(unreachable.detail?["reason"] == "HTTP 503" && unreachable.possiblyDialed)
        let notFound = t.afterLookup(Self.job, .notFound, lastError: nil, using: &random)
        #expect(notFound.state == .retrying && notFound.outcome == .notFound && notFound.delay == .seconds(18))
        #expect(notFound.retryClass == "reconcile_not_found")
        let lost = OpenPhnError(.workerLost, "The worker stopped.")
        let spent = t.afterLookup(Self.lastAttempt, .notFound, lastError: lost, using: &random)
        #expect(spent.state == .failed && spent.outcome == .notFound && spent.error?.error == .workerLost)
    }

    @Test("a 'no such call' earlier than notFoundAfter after the request is not believed yet: the job stays in doubt until then")
    func notFoundTooEarly() {
        var random = ZeroRandom()
        var t = Self.transition
        t.notFoundAfter = .seconds(300)
        let early = t.afterLookup(Self.job, .notFound, lastError: nil, sentAgo: .seconds(40), using: &random)
        #expect(early.state == .inDoubt && early.outcome == .unreachable && early.delay == .seconds(260) && early.possiblyDialed)
        #expect(early.detail?["reason"]?.stringValue?.contains("may still reach Twilio") == true)
        let late = t.afterLookup(Self.job, .notFound, lastError: nil, sentAgo: .seconds(301), using: &random)
        #expect(late.state == .retrying && late.outcome == .notFound)
        let found = t.afterLookup(Self.job, .found(callSID: "CA" + String(repeating: "c", count: 32)), lastError: nil, sentAgo: .seconds(1), using: &random)
        #expect(found.state == .awaitingOutcome, "a call found is found at once")
    }

    @Test("every attempt result is one the call_attempts.outcome comment lists")
    func resultsDocumented() throws {
        let sql = try Migration.bundled().map(\.sql).joined(separator: "\n")
        let comment = try #require(sql.components(separatedBy: "COMMENT ON COLUMN call_attempts.outcome IS").last)
        for result in JobOutcome.Result.allCases {
            #expect(comment.contains(result.rawValue), "\(result.rawValue) is not in the call_attempts.outcome comment")
        }
    }
}
