import Logging
import PostgresNIO

/// A reservation of dial slots for one subaccount.
public struct DialSlots: Sendable, Hashable {
    /// Slots granted (0 when the subaccount is saturated or paused).
    public let count: Int
    /// Delay from now until the first slot; slot i starts `i / callsPerSecond` later.
    public let firstIn: Duration
    public let callsPerSecond: Double
}

/// Pacing: dials per Twilio subaccount, summed over every worker process, kept under its calls per second by a GCRA
/// on the subaccount's `twilio_pacing` row (one short UPDATE per reservation, no transaction held while waiting).
extension JobStore {
    /// Slots are spaced for 90% of the configured rate: timers in different processes wake a few milliseconds late or
    /// early, and the headroom keeps any one-second window of actual sends within the account's calls per second.
    static let pacingHeadroom = 0.9

    /// Reserves up to `count` dial slots for a subaccount, no further ahead than `maxAhead` (GCRA on `twilio_pacing`).
    /// A subaccount seen for the first time gets a row with `defaultCallsPerSecond`.
    public func reserveDialSlots(subaccount: String, count: Int, defaultCallsPerSecond: Double, maxAhead: Duration) async throws -> DialSlots {
        for _ in 0..<2 {
            let rows = try await client.query("""
                WITH cur AS (
                    SELECT subaccount_sid, calls_per_second * \(Self.pacingHeadroom) AS cps, greatest(tat, now(), coalesce(paused_until, now())) AS base
                    FROM twilio_pacing WHERE subaccount_sid = \(subaccount) FOR UPDATE
                ), slot_grant AS (
                    SELECT subaccount_sid, cps, base,
                           CASE WHEN base > now() + make_interval(secs => \(maxAhead.seconds)) THEN 0
                                ELSE least(\(count), floor(extract(epoch FROM now() + make_interval(secs => \(maxAhead.seconds)) - base) * cps)::int + 1)
                           END AS k
                    FROM cur
                ), reserved AS (
                    UPDATE twilio_pacing p SET tat = g.base + make_interval(secs => g.k / g.cps), updated_at = now()
                    FROM slot_grant g WHERE p.subaccount_sid = g.subaccount_sid AND g.k > 0
                )
                SELECT k, extract(epoch FROM base - now())::float8, cps FROM slot_grant
                """, logger: logger)
            for try await (k, firstIn, cps) in rows.decode((Int, Double, Double).self) {
                return DialSlots(count: k, firstIn: .milliseconds(Int64(max(0, firstIn) * 1000)), callsPerSecond: cps)
            }
            try await client.query("""
                INSERT INTO twilio_pacing (subaccount_sid, calls_per_second) VALUES (\(subaccount), \(defaultCallsPerSecond))
                ON CONFLICT (subaccount_sid) DO NOTHING
                """, logger: logger)
        }
        return DialSlots(count: 0, firstIn: .seconds(1), callsPerSecond: defaultCallsPerSecond)
    }

    /// A 429 pauses the whole subaccount for Retry-After: no worker gets a slot before then.
    public func pauseSubaccount(_ subaccount: String, for delay: Duration) async throws {
        try await client.query("""
            UPDATE twilio_pacing SET paused_until = greatest(coalesce(paused_until, now()), now() + make_interval(secs => \(delay.seconds))),
                updated_at = now()
            WHERE subaccount_sid = \(subaccount)
            """, logger: logger)
    }

    /// Sets a subaccount's calls per second (what the account is configured for at Twilio).
    public func setCallsPerSecond(subaccount: String, _ callsPerSecond: Double) async throws {
        try await client.query("""
            INSERT INTO twilio_pacing (subaccount_sid, calls_per_second) VALUES (\(subaccount), \(callsPerSecond))
            ON CONFLICT (subaccount_sid) DO UPDATE SET calls_per_second = excluded.calls_per_second, updated_at = now()
            """, logger: logger)
    }
}
