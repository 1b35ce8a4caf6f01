/// Exponential backoff with jitter: base, 2 x base, 4 x base, ... capped. Pure; the database adds the delay to its own clock.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration
    /// Fraction of the delay that is random, spread evenly around it: 0.2 gives +-10%.
    public var jitter: Double

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(300), jitter: Double = 0.2) {
        self.base = base
        self.cap = cap
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The nominal delay after the `attempt`-th failed attempt (1-based), before jitter.
    public func nominal(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let seconds = base.seconds * Double(UInt64(1) << UInt64(exponent))
        return .seconds(min(seconds, cap.seconds))
    }

    /// The jittered delay, never above `cap`.
    public func delay(afterAttempt attempt: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let nominal = nominal(afterAttempt: attempt).seconds
        let factor = 1 + jitter * (Double.random(in: 0..<1, using: &random) - 0.5)
        return .seconds(min(nominal * factor, cap.seconds))
    }
}

/// What becomes of a job after a failed dial attempt.
public enum RetryDecision: Sendable, Hashable {
    /// Dial again after this delay.
    case retry(after: Duration)
    /// The job ends failed with this error.
    case fail(OpenPhnError)
}

/// Decides retry or fail for a ``DialFailure``: terminal failures fail at once; retryable ones wait for the larger of the
/// backoff and `Retry-After` until the job's attempts are spent.
public struct RetryPolicy: Sendable, Hashable {
    public var backoff: Backoff
    /// A `Retry-After` longer than this is clipped to it, so one odd header cannot park a job for days.
    public var maxRetryAfter: Duration

    public init(backoff: Backoff = Backoff(), maxRetryAfter: Duration = .seconds(3600)) {
        self.backoff = backoff
        self.maxRetryAfter = maxRetryAfter
    }

    public func decide(_ failure: DialFailure, attempt: Int, maxAttempts: Int, using random: inout some RandomNumberGenerator) -> RetryDecision {
        guard failure.isRetryable else { return .fail(failure.error.with("attempts", .number(Double(attempt)))) }
        guard attempt < maxAttempts else {
            let message = "\(failure.error.message) Gave up after \(attempt) of \(maxAttempts) attempts."
            return .fail(OpenPhnError(failure.error.error, message, details: failure.error.details.merging(
                ["attempts": .number(Double(attempt)), "max_attempts": .number(Double(maxAttempts)), "failure": .string(failure.kind.rawValue)]
            ) { $1 }))
        }
        let backoffDelay = backoff.delay(afterAttempt: attempt, using: &random)
        guard let retryAfter = failure.retryAfter else { return .retry(after: backoffDelay) }
        return .retry(after: max(min(retryAfter, maxRetryAfter), backoffDelay))
    }
}
