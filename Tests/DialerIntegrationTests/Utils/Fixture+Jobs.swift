import Foundation
import DialerCore
import PostgresNIO

/// The job factory (River's `testfactory`, `Oban.Testing`): puts jobs into the state a test starts from, in the test's
/// schema, without the test writing SQL against `call_jobs`. The first statement below is the only test SQL that moves a
/// job, the second the only one that edits its consent evidence; everything else goes through the store, as the product does.
extension Fixture {
    /// Puts a job into `state`; see `jobs(_:_:state:runIn:createdAgo:finishedAgo:expiredAgo:)`.
    static func job(
        _ store: JobStore, _ id: Int64, state: JobState, runIn: Duration? = nil, createdAgo: Duration? = nil, finishedAgo: Duration? = nil,
        expiredAgo: Duration? = nil
    ) async throws {
        try await jobs(store, [id], state: state, runIn: runIn, createdAgo: createdAgo, finishedAgo: finishedAgo, expiredAgo: expiredAgo)
    }

    /// Puts enqueued jobs into `state`, with what the table's invariants ask of that state: a lease for `active`; the
    /// state it was parked from for `paused`; `finished_at` (kept if set) for a final state; a call SID and no error
    /// for `awaiting_outcome`, `completed` and `dialed`; at least one attempt spent for `retrying`, `active`, `in_doubt` and those. Nothing else of the
    /// job's history is invented: no `call_attempts` rows, no `last_error`.
    /// - Parameters:
    ///   - runIn: moves `run_at` to now plus this (negative: overdue); otherwise it stays, or follows `createdAgo`.
    ///   - createdAgo: moves `created_at` (and, without `runIn`, `run_at`, as the enqueue set them) into the past.
    ///   - finishedAgo: `finished_at` of a final state, this long ago.
    ///   - expiredAgo: `expires_at`, this long ago.
    static func jobs(
        _ store: JobStore, _ ids: [Int64], state: JobState, runIn: Duration? = nil, createdAgo: Duration? = nil, finishedAgo: Duration? = nil,
        expiredAgo: Duration? = nil
    ) async throws {
        let target = state.rawValue
        let runIn = runIn.map(\.seconds), createdAgo = createdAgo.map(\.seconds), finishedAgo = finishedAgo.map(\.seconds)
        let expiredAgo = expiredAgo.map(\.seconds)
        let updated = try await store.scalar("""
            WITH moved AS (
                UPDATE call_jobs SET
                    state = \(target),
                    paused_from = CASE WHEN \(target) = 'paused'
                        THEN CASE WHEN state IN ('queued', 'deferred', 'retrying') THEN state ELSE coalesce(paused_from, 'queued') END END,
                    lease_owner = CASE WHEN \(target) = 'active' THEN coalesce(lease_owner, 'test-factory') END,
                    lease_expires_at = CASE WHEN \(target) = 'active' THEN coalesce(lease_expires_at, now() + interval '60 seconds') END,
                    attempt = CASE WHEN \(target) IN ('retrying', 'active', 'in_doubt', 'awaiting_outcome', 'completed', 'dialed') THEN greatest(attempt, 1) ELSE attempt END,
                    twilio_call_sid = CASE WHEN \(target) IN ('awaiting_outcome', 'completed', 'dialed') THEN coalesce(twilio_call_sid, 'CA' || md5(id::text)) ELSE twilio_call_sid END,
                    last_error = CASE WHEN \(target) IN ('awaiting_outcome', 'completed', 'dialed') THEN NULL ELSE last_error END,
                    finished_at = CASE WHEN \(target) IN ('completed', 'dialed', 'failed', 'cancelled')
                        THEN coalesce(now() - make_interval(secs => \(finishedAgo)), finished_at, now()) END,
                    run_at = coalesce(now() + make_interval(secs => \(runIn)), now() - make_interval(secs => \(createdAgo)), run_at),
                    created_at = coalesce(now() - make_interval(secs => \(createdAgo)), created_at),
                    expires_at = coalesce(now() - make_interval(secs => \(expiredAgo)), expires_at),
                    updated_at = now()
                WHERE id = ANY(\(ids))
                RETURNING id
            )
            SELECT count(*)::bigint FROM moved
            """)
        guard updated == Set(ids).count else { throw UnknownJob(ids: ids, found: updated) }
    }

    /// Sets enqueued jobs' purpose and consent evidence as an operator's backfill or correction would after enqueue
    /// (`type: nil` takes the evidence away: consent_type, consent_at and consent_source all NULL, as rows enqueued before
    /// migration 0009 are). The job's state is left as it is.
    /// - Parameter purpose: `nil` keeps each job's purpose.
    static func consent(_ store: JobStore, _ ids: [Int64], purpose: CallPurpose? = nil, type: ConsentType?) async throws {
        let purpose = purpose?.rawValue, type = type?.rawValue
        let source: String? = type == nil ? nil : consentSource
        let at: Date? = type == nil ? nil : consentAt
        let updated = try await store.scalar("""
            WITH edited AS (
                UPDATE call_jobs SET purpose = coalesce(\(purpose), purpose), consent_type = \(type), consent_at = \(at),
                                     consent_source = \(source), updated_at = now()
                WHERE id = ANY(\(ids))
                RETURNING id
            )
            SELECT count(*)::bigint FROM edited
            """)
        guard updated == Set(ids).count else { throw UnknownJob(ids: ids, found: updated) }
    }

    struct UnknownJob: Error, CustomStringConvertible {
        let ids: [Int64]
        let found: Int
        var description: String { "the job factory found \(found) of the jobs \(ids) in the test schema" }
    }
}
