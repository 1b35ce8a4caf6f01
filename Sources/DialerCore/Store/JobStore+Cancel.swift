import Foundation
import Logging
import PostgresNIO

/// What `cancel` did (or, in a dry run, would do).
public struct CancelResult: Sendable, Hashable, Codable {
    /// Waiting or paused jobs that ended (would end) cancelled.
    public var cancelled = 0
    /// Jobs in a worker's hands (`active`) or awaiting reconciliation (`in_doubt`): left alone, they finish on their own.
    public var inFlight = 0
    /// Jobs already final (dialed, failed, cancelled).
    public var alreadyFinished = 0
    /// Requested ids that do not exist.
    public var notFound: [Int64] = []
    /// Waiting jobs of the scope outside a state filter: left as they are.
    public var leftWaiting = 0
}

/// Which jobs one cancel statement looks at: by id, or a tenant's (one campaign's, one destination's); `''` is "any".
struct CancelScope: Sendable {
    var ids: [Int64]?
    var tenant = ""
    var campaign = ""
    var destination = ""
    /// The states cancelled: every waiting and parked one unless a filter narrows them.
    var states: [String] = JobStore.cancellableStates.map(\.rawValue)
}

extension JobStore {
    /// The states a cancel can end: waiting or parked (a job in a worker's hands may have rung already).
    public static let cancellableStates: [JobState] = [.queued, .deferred, .retrying, .paused]

    /// Cancels waiting and paused jobs (they end `cancelled`, with an `operator` row in `call_attempts`). Jobs being dialed
    /// or reconciled are left alone and counted: they may already have rung, and they finish on their own.
    /// `states` narrows a cancel to some of the waiting states (`dialer cancel --state retrying`, the console's filter);
    /// a waiting job in another state is left alone and counted as `leftWaiting`.
    public func cancel(_ selection: JobSelection, states: Set<JobState>? = nil, by operatorID: String, dryRun: Bool = false) async throws -> CancelResult {
        var result = CancelResult()
        let (ids, tenant, campaign) = Self.parts(selection)
        var scope = CancelScope(ids: ids, tenant: tenant, campaign: campaign)
        if let states {
            guard !states.isEmpty, states.isSubset(of: Self.cancellableStates) else {
                throw OpenPhnError(.invalidRequest, "Only waiting and paused jobs can be cancelled (states: queued, deferred, retrying, paused).",
                                   details: ["states": .array(states.map { .string($0.rawValue) }.sorted { $0.stringValue ?? "" < $1.stringValue ?? "" })])
            }
            scope.states = Self.cancellableStates.filter(states.contains).map(\.rawValue)
        }
        if !dryRun {
            while true {
                let count = try await Self.cancelled(try await client.query(Self.cancelBatch(scope, by: operatorID), logger: logger))
                result.cancelled += count
                // Not `count < batch`: a row claimed while this batch waited for its lock drops out of the batch, and
                // more waiting rows may remain.
                if count == 0 { break }
            }
        }
        try await Self.tally(try await client.query(Self.cancelTally(scope), logger: logger), into: &result, dryRun: dryRun, states: scope.states)
        if case .jobs(let requested) = selection {
            let found = try await client.query("SELECT id FROM call_jobs WHERE id = ANY(\(requested))", logger: logger)
            var present = Set<Int64>()
            for try await id in found.decode(Int64.self) { present.insert(id) }
            result.notFound = requested.filter { !present.contains($0) }
            // Jobs this call cancelled are final now and were counted above; they are not "already finished".
            if !dryRun { result.alreadyFinished -= result.cancelled }
        }
        if !dryRun {
            var auditScope: [String: JSONValue] = ["in_flight": .number(Double(result.inFlight))]
            if let states { auditScope["states"] = .array(Self.cancellableStates.filter(states.contains).map { .string($0.rawValue) }) }
            if let ids { auditScope["job_ids"] = .array(ids.prefix(100).map { .number(Double($0)) }) }
            try await audit("cancel", by: operatorID, tenant: tenant.isEmpty ? nil : tenant, campaign: campaign.isEmpty ? nil : campaign,
                            scope: auditScope, affected: result.cancelled)
            logger.notice("cancelled", metadata: ["cancelled": "\(result.cancelled)", "in_flight": "\(result.inFlight)", "by": "\(operatorID)"])
        }
        return result
    }

    /// One batch of a cancel: up to ``operatorBatch`` waiting or paused jobs of `scope` end `cancelled`, each with an
    /// `operator` row in `call_attempts` whose `detail` is `detail` (why, for a cancel that has a reason: an opt-out).
    /// Returns one row, the number cancelled; run it until that is 0.
    static func cancelBatch(_ scope: CancelScope, by operatorID: String, detail: JSONValue? = nil) -> PostgresQuery {
        let (ids, tenant, campaign, destination) = (scope.ids, scope.tenant, scope.campaign, scope.destination)
        return """
            WITH batch AS (
                SELECT id FROM call_jobs
                WHERE (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)::bigint[]))
                  AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
                  AND (\(destination) = '' OR destination = \(destination))
                  -- The constant list lets the planner use the waiting jobs' partial index whatever the plan; the array narrows.
                  AND state IN ('queued', 'deferred', 'retrying', 'paused') AND state = ANY(\(scope.states)::text[])
                LIMIT \(Self.operatorBatch)
                FOR UPDATE
            ), cancelled AS (
                UPDATE call_jobs j SET state = 'cancelled', paused_from = NULL, finished_at = now(), updated_at = now()
                FROM batch WHERE j.id = batch.id
                RETURNING j.id, j.attempt
            ), logged AS (
                INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, detail)
                SELECT id, attempt, \(operatorID), 'operator', 'cancelled', \(detail?.jsonText)::jsonb FROM cancelled
            )
            SELECT count(*)::bigint FROM cancelled
            """
    }

    /// The jobs of `scope` by state, for ``tally(_:into:dryRun:states:)``: every state for ids, the unfinished ones otherwise.
    static func cancelTally(_ scope: CancelScope) -> PostgresQuery {
        let (ids, tenant, campaign, destination) = (scope.ids, scope.tenant, scope.campaign, scope.destination)
        return """
            SELECT state, count(*)::bigint FROM call_jobs
            WHERE (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)::bigint[]))
              AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
              AND (\(destination) = '' OR destination = \(destination))
              AND (\(ids)::bigint[] IS NOT NULL OR state NOT IN ('completed', 'dialed', 'failed', 'cancelled'))
            GROUP BY state
            """
    }

    static func cancelled(_ rows: PostgresRowSequence) async throws -> Int {
        var count = 0
        for try await n in rows.decode(Int.self) { count = n }
        return count
    }

    /// Counts the rows of ``cancelTally(_:)`` into `result`: in-flight, already finished, and (in a dry run) what would be cancelled.
    static func tally(_ rows: PostgresRowSequence, into result: inout CancelResult, dryRun: Bool, states: [String]) async throws {
        for try await (raw, count) in rows.decode((String, Int).self) {
            switch JobState(rawValue: raw) {
            case .active, .inDoubt, .awaitingOutcome: result.inFlight += count
            case .queued, .deferred, .retrying, .paused:
                if !states.contains(raw) { result.leftWaiting += count } else if dryRun { result.cancelled += count }
            case .completed, .dialed, .failed, .cancelled, nil: result.alreadyFinished += count
            }
        }
    }
}
