import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// The operator's controls, end to end against a real PostgreSQL: pause, resume, cancel, retry, prune.
@Suite("Operator controls")
struct OperatorControlTests {
    static let operatorID = "operator:test@host"

    static func enqueue(_ store: JobStore, campaign: String?, count: Int, start: Int, tenant: String = "acme", maxAttempts: Int = 4)
        async throws -> [Int64]
    {
        let requests = try Fixture.destinations(count, start: start).map { to in
            try CallRequest(tenantID: tenant, to: to, campaignID: campaign, objective: "Remind", maxAttempts: maxAttempts).withConsent().validated()
        }
        return try await store.enqueue(requests).map(\.jobID)
    }

    static func states(_ store: JobStore, _ ids: [Int64]) async throws -> [JobState] {
        var byID: [Int64: JobState] = [:]
        for try await (id, state) in try await store.client.query("SELECT id, state FROM call_jobs WHERE id = ANY(\(ids))", logger: store.logger)
            .decode((Int64, String).self)
        {
            byID[id] = JobState(rawValue: state)
        }
        return ids.map { byID[$0] ?? .cancelled }
    }

    @Test("pause stops claims of that campaign only; jobs enqueued while paused wait; resume puts them back where they were")
    func pauseAndResume() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let spring = try await Self.enqueue(store, campaign: "spring", count: 5, start: 0)
            let autumn = try await Self.enqueue(store, campaign: "autumn", count: 3, start: 100)
            // One spring job waits for a retry: it must come back as retrying, with its run_at.
            try await Fixture.job(store, spring[0], state: .retrying, runIn: .seconds(3_600))

            let paused = try await store.pause(tenant: "acme", campaign: "spring", reason: "customer asked", by: Self.operatorID)
            #expect(paused.newlyPaused)
            #expect(paused.parked == 5)
            #expect(try await store.pause(tenant: "acme", campaign: "spring", by: Self.operatorID).newlyPaused == false)
            let late = try await Self.enqueue(store, campaign: "spring", count: 2, start: 200)
            #expect(try await Self.states(store, late) == [.paused, .paused])

            let claimed = try await store.claim(limit: 100, worker: "w1", lease: .seconds(30))
            #expect(Set(claimed.map(\.jobID)) == Set(autumn))
            #expect(try await store.dueCount() == 0)
            let pauses = try await store.pauses()
            #expect(pauses.map(\.campaignID) == ["spring"])
            #expect(pauses.first?.reason == "customer asked")
            #expect(pauses.first?.pausedBy == Self.operatorID)

            // A tenant-wide pause on top; resuming the tenant leaves the campaign's own pause in force.
            _ = try await store.pause(tenant: "acme", campaign: nil, by: Self.operatorID)
            let tenantResume = try await store.resume(tenant: "acme", campaign: nil, by: "test")
            #expect(tenantResume.wasPaused)
            #expect(tenantResume.unparked == 0)
            #expect(try await store.claim(limit: 100, worker: "w1", lease: .seconds(30)).isEmpty)

            let resumed = try await store.resume(tenant: "acme", campaign: "spring", by: "test")
            #expect(resumed.wasPaused)
            #expect(resumed.unparked == 7)
            #expect(try await Self.states(store, [spring[0]]) == [.retrying])
            let reclaimed = try await store.claim(limit: 100, worker: "w2", lease: .seconds(30))
            #expect(Set(reclaimed.map(\.jobID)) == Set(Array(spring.dropFirst()) + late))
            #expect(try await store.resume(tenant: "acme", campaign: "spring", by: "test").wasPaused == false)
            await #expect(throws: OpenPhnError.self) { try await store.pause(tenant: "nobody", campaign: nil, by: Self.operatorID) }
        }
    }

    @Test("a job rescheduled after its campaign was paused is not claimed; a worker drains only what is not paused")
    func pausedWorkerDrain() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let spring = try await Self.enqueue(store, campaign: "spring", count: 4, start: 0)
                let other = try await Self.enqueue(store, campaign: nil, count: 3, start: 50)
                // Claimed before the pause (in flight), then rescheduled after it: the claim's pause probe holds it back.
                let inFlight = try await store.claim(limit: 1, worker: "w0", lease: .seconds(30))
                #expect(inFlight.map(\.jobID) == [spring[0]])
                _ = try await store.pause(tenant: "acme", campaign: "spring", by: Self.operatorID)
                try await store.record([.retrying(JobRef(jobID: spring[0], attempt: 1, maxAttempts: 4), after: .zero, failure: Fixture.serverError, detail: [:])],
                                       worker: "w0")
                let counts = try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), wait: nil)
                #expect(counts.dialed == 3)
                #expect(Set(await fake.ledger.calls.map(\.to)) == Set(try await Self.destinations(store, other)))
                #expect(try await Self.states(store, spring) == [.retrying, .paused, .paused, .paused])

                _ = try await store.resume(tenant: "acme", campaign: "spring", by: "test")
                let after = try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), wait: nil)
                #expect(after.dialed == 4)
                #expect(await fake.ledger.calls.count == 7)
            }
        }
    }

    static func destinations(_ store: JobStore, _ ids: [Int64]) async throws -> [String] {
        var result: [String] = []
        for try await to in try await store.client.query("SELECT destination FROM call_jobs WHERE id = ANY(\(ids)) ORDER BY id", logger: store.logger)
            .decode(String.self)
        {
            result.append(to)
        }
        return result
    }

    @Test("cancel ends waiting and paused jobs with a count, leaves in-flight ones alone, and reports unknown ids")
    func cancel() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let spring = try await Self.enqueue(store, campaign: "spring", count: 6, start: 0)
            let autumn = try await Self.enqueue(store, campaign: "autumn", count: 2, start: 100)
            let claimed = try await store.claim(limit: 2, worker: "w1", lease: .seconds(30))
            #expect(claimed.map(\.jobID) == Array(spring.prefix(2)))
            try await Fixture.job(store, spring[2], state: .deferred, runIn: .seconds(10 * 3_600))
            _ = try await store.pause(tenant: "acme", campaign: "spring", by: Self.operatorID)

            let dry = try await store.cancel(.scope(tenant: "acme", campaign: "spring"), by: Self.operatorID, dryRun: true)
            #expect(dry.cancelled == 4)
            #expect(dry.inFlight == 2)
            #expect(try await Self.states(store, Array(spring.dropFirst(2))) == [.paused, .paused, .paused, .paused])

            let done = try await store.cancel(.scope(tenant: "acme", campaign: "spring"), by: Self.operatorID)
            #expect(done.cancelled == 4)
            #expect(done.inFlight == 2)
            #expect(try await Self.states(store, spring) == [.active, .active, .cancelled, .cancelled, .cancelled, .cancelled])
            #expect(try await Self.states(store, autumn) == [.queued, .queued])
            let audit = try await store.scalar("SELECT count(*)::bigint FROM call_attempts WHERE kind = 'operator' AND outcome = 'cancelled' AND worker = \(Self.operatorID)")
            #expect(audit == 4)

            let byID = try await store.cancel(.jobs([autumn[0], spring[0], spring[3], 999_999]), by: Self.operatorID)
            #expect(byID.cancelled == 1)
            #expect(byID.inFlight == 1)
            #expect(byID.alreadyFinished == 1)
            #expect(byID.notFound == [999_999])
            #expect(try await Self.states(store, autumn) == [.cancelled, .queued])
        }
    }

    @Test("retry puts failed jobs back with a fresh budget, filtered by error code; a dry run changes nothing; dialed and expired jobs are never retried")
    func retry() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let ids = try await Self.enqueue(store, campaign: "spring", count: 5, start: 0, maxAttempts: 1)
                let destinations = try await Self.destinations(store, ids)
                // Two fail on Twilio outages (upstream_unavailable after their single attempt), one is rejected as a
                // carrier block, one is dialed, one fails and then expires.
                for to in [destinations[0], destinations[1], destinations[4]] { await fake.ledger.script(to: to, [FakeResponse(status: 503)]) }
                await fake.ledger.script(to: destinations[2], [FakeResponse(status: 400, code: 21_216)])
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                #expect(try await Self.states(store, ids) == [.failed, .failed, .failed, .awaitingOutcome, .failed])
                try await Fixture.job(store, ids[4], state: .failed, expiredAgo: .seconds(60))
                let code = try await store.scalar("SELECT count(DISTINCT last_error->>'error')::bigint FROM call_jobs WHERE id = ANY(\(Array(ids.prefix(2))))")
                #expect(code == 1)
                var upstream = ""
                for try await c in try await store.client.query("SELECT last_error->>'error' FROM call_jobs WHERE id = \(ids[0])", logger: store.logger)
                    .decode(String.self)
                {
                    upstream = c
                }

                let dry = try await store.retryFailed(RetryFilter(errorCode: upstream), by: Self.operatorID, dryRun: true)
                #expect(dry.retried == 2)
                #expect(dry.skippedExpired == 1)
                #expect(Set(dry.sample) == Set(ids.prefix(2)))
                #expect(try await Self.states(store, ids) == [.failed, .failed, .failed, .awaitingOutcome, .failed])

                let filteredOut = try await store.retryFailed(RetryFilter(errorCode: upstream, since: Date().addingTimeInterval(3600)), by: Self.operatorID)
                #expect(filteredOut.retried == 0)

                let done = try await store.retryFailed(RetryFilter(errorCode: upstream), by: Self.operatorID)
                #expect(done.byError == [upstream: 2])
                #expect(done.skippedExpired == 1)
                #expect(try await Self.states(store, ids) == [.queued, .queued, .failed, .awaitingOutcome, .failed])
                #expect(try await store.scalar("SELECT max_attempts::bigint FROM call_jobs WHERE id = \(ids[0])") == 2)

                // Twilio is back: the retried jobs are dialed once each; the dialed one is never dialed again.
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                #expect(try await Self.states(store, ids) == [.awaitingOutcome, .awaitingOutcome, .failed, .awaitingOutcome, .failed])
                let everything = try await store.retryFailed(RetryFilter(), by: Self.operatorID)
                #expect(everything.retried == 1)  // the carrier-rejected one; the gate and Twilio decide again
                #expect(try await Self.states(store, [ids[3]]) == [.awaitingOutcome])
                let ledger = await fake.ledger.calls
                #expect(ledger.filter { $0.to == destinations[3] }.count == 1)
            }
        }
    }

    @Test("prune deletes old finished jobs, their attempts and their calls' callbacks in batches, and leaves recent and unfinished jobs alone")
    func prune() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let ids = try await Self.enqueue(store, campaign: nil, count: 12, start: 0)
            let old = Array(ids.prefix(7)), recent = Array(ids[7..<10]), waiting = Array(ids.suffix(2))
            try await Fixture.jobs(store, old, state: .completed, finishedAgo: .seconds(40 * 86_400))
            try await Fixture.jobs(store, recent, state: .failed, finishedAgo: .seconds(2 * 86_400))
            // Waiting jobs are never pruned, however old.
            try await Fixture.jobs(store, waiting, state: .queued, createdAgo: .seconds(90 * 86_400))
            try await store.client.query("""
                INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, twilio_call_sid)
                SELECT id, 1, 'w', 'dial', 'dialed', twilio_call_sid FROM call_jobs
                """, logger: store.logger)
            // The old jobs' calls have their callbacks stored: they leave with their jobs.
            for id in old {
                let sid = try #require(try await store.job(id)?.callSID)
                for (n, status) in ["ringing", "completed"].enumerated() {
                    _ = try await store.record(try StatusCallback(parameters: [("CallSid", sid), ("CallStatus", status), ("SequenceNumber", "\(n)")],
                                                                  query: [("job", "\(id)")]))
                }
            }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_events") == 14)
            let firstCall = try #require(try await store.job(old[0])?.callSID)
            #expect(try await store.callOutcome(callSID: firstCall)?.ended == true)

            let dry = try await store.prune(olderThan: .seconds(30 * 86_400), dryRun: true)
            #expect(dry.jobs == 7)
            #expect(dry.attempts == 7)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 12)

            let pruned = try await store.prune(olderThan: .seconds(30 * 86_400), batchSize: 3, pauseBetweenBatches: .zero)
            #expect(pruned.jobs == 7)
            #expect(pruned.attempts == 7)
            #expect(pruned.batches == 3)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE id = ANY(\(old))") == 0)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE id = ANY(\(recent + waiting))") == 5)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_attempts") == 5)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_events") == 0)
            #expect(try await store.callOutcome(callSID: firstCall) == nil)

            // Another process's lease stops this one; once expired, it is taken over, and released after the run.
            _ = try await store.scalar("WITH i AS (INSERT INTO maintenance_leases VALUES ('retention', 'other', now() + interval '1 minute') RETURNING 1) SELECT count(*)::bigint FROM i")
            #expect(try await store.pruneExclusively(olderThan: .seconds(86_400)) == nil, "another process holds the lease")
            _ = try await store.scalar("WITH u AS (UPDATE maintenance_leases SET expires_at = now() - interval '1 second' RETURNING 1) SELECT count(*)::bigint FROM u")
            let exclusive = try await store.pruneExclusively(olderThan: .seconds(86_400))
            #expect(exclusive?.jobs == 3)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM maintenance_leases") == 0, "released after the run")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 2)
        }
    }
}

/// The same controls as an operator types them.
@Suite("Operator controls from the CLI")
struct OperatorCLITests {
    @Test("pause, drain one slice, cancel, retry --dry-run, resume, prune: exit codes, counts and refusals")
    func commands() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                let spring = try await OperatorControlTests.enqueue(store, campaign: "spring", count: 3, start: 0)
                let autumn = try await OperatorControlTests.enqueue(store, campaign: "autumn", count: 2, start: 100)
                let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)

                let paused = try await TestProcess.run(["pause", "--tenant", "acme", "--campaign", "spring", "--reason", "asked"], environment: env)
                #expect(paused.status == 0)
                #expect(paused.stdout.contains("campaign spring of tenant acme paused; 3 waiting job(s) parked"))
                let status = try await TestProcess.run(["status", "--json"], environment: env)
                let json = try #require(JSONValue.parse(status.stdout))
                #expect(json["totals"]?["paused"] == 3)
                #expect(json["paused"]?[0]?["campaign_id"] == "spring")

                // Draining one slice: only autumn's jobs are dialed.
                let drained = try await TestProcess.run(["drain", "--tenant", "acme", "--campaign", "autumn"], environment: env)
                #expect(drained.status == 0)
                #expect(drained.stdout.contains("drain: 2 job(s) due now (tenant acme, campaign autumn)"))
                #expect(await fake.ledger.calls.count == 2)
                #expect(try await OperatorControlTests.states(store, autumn) == [.awaitingOutcome, .awaitingOutcome])

                let dry = try await TestProcess.run(["cancel", "--tenant", "acme", "--campaign", "spring", "--dry-run", "--json"], environment: env)
                #expect(dry.status == 0)
                #expect(JSONValue.parse(dry.stdout)?["cancelled"] == 3)
                let cancelled = try await TestProcess.run(["cancel", "--job", "\(spring[0])"], environment: env)
                #expect(cancelled.stdout.contains("1 job(s) cancelled"))
                let ambiguous = try await TestProcess.run(["cancel", "--campaign", "spring"], environment: env)
                #expect(ambiguous.status != 0)
                #expect(ambiguous.stderr.contains("--campaign needs --tenant"))

                let resumed = try await TestProcess.run(["resume", "--tenant", "acme", "--campaign", "spring"], environment: env)
                #expect(resumed.stdout.contains("resumed; 2 job(s) back in the queue"))
                #expect(try await OperatorControlTests.states(store, spring) == [.cancelled, .queued, .queued])

                let retry = try await TestProcess.run(["retry", "--error", "upstream_unavailable", "--dry-run"], environment: env)
                #expect(retry.status == 0)
                #expect(retry.stdout.contains("retry (dry run): 0 failed job(s) would go back to the queue"))
                let badCode = try await TestProcess.run(["retry", "--error", "oops"], environment: env)
                #expect(badCode.status != 0)
                #expect(badCode.stderr.contains("--error must be an OpenPhn error code"))

                let prune = try await TestProcess.run(["prune", "--older-than-days", "1", "--dry-run"], environment: env)
                #expect(prune.stdout.contains("prune (dry run): 0 finished job(s)"))
                var off = env
                off["DIALER_RETENTION_DAYS"] = "0"
                let refused = try await TestProcess.run(["prune"], environment: off)
                #expect(refused.status == 2)
                #expect(refused.stderr.contains("retention is off"))
            }
        }
    }
}
