@testable import DialerCore
import Foundation
import PostgresNIO
import Testing

@Suite("Queue: migrate, enqueue, claim, record, recover")
struct QueueTests {
    @Test("migrating from several clients at once applies each migration exactly once")
    func concurrentMigrate() async throws {
        try await TestDatabase.withStore { store, schema in
            // withStore already migrated once; drop the record and race four migrators against a second schema.
            let url = try TestDatabase.url
            let other = schema + "_m"
            try await store.client.query("CREATE SCHEMA \(unescaped: other)", logger: store.logger)
            defer { Task { try? await TestDatabase.drop(other) } }
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await JobStore.withStore(try JobStore.configuration(url: url, schema: other), logger: TestDatabase.logger) {
                            try await $0.migrate(try Migration.bundled()).count
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(applied == (try Migration.bundled()).count)
            let recorded = try await store.scalar("SELECT count(*)::bigint FROM \(unescaped: other).schema_migrations")
            #expect(recorded == (try Migration.bundled()).count)
            try await TestDatabase.drop(other)
        }
    }

    @Test("concurrent claimers never share a job, and every job is claimed once")
    func concurrentClaims() async throws {
        try await TestDatabase.withStore(maxConnections: 10) { store, _ in
            try await Fixture.tenant(store)
            _ = try await store.enqueue(try Fixture.destinations(600).map { try Fixture.request($0) })
            let claimed = try await withThrowingTaskGroup(of: [Int64].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var mine: [Int64] = []
                        while true {
                            let batch = try await store.claim(limit: 7, worker: "w\(worker)", lease: .seconds(60))
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.jobID)
                        }
                    }
                }
                return try await group.reduce(into: [[Int64]]()) { $0.append($1) }
            }
            let all = claimed.flatMap { $0 }
            #expect(all.count == 600)
            #expect(Set(all).count == 600)
            #expect(claimed.filter { !$0.isEmpty }.count > 1)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'active' AND attempt = 1") == 600)
        }
    }

    @Test("the claim returns the tenant's subaccount, verification and caller number in the same round trip, in priority order")
    func claimPayload() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            var low = try CallRequest(tenantID: "acme", to: "+14155551000", objective: "later", priority: 5).withConsent().validated()
            _ = try await store.enqueue([low])
            low = try CallRequest(tenantID: "acme", to: "+14155551001", objective: "first", priority: 0).withConsent().validated()
            _ = try await store.enqueue([low])
            let calls = try await store.claim(limit: 10, worker: "w", lease: .seconds(30))
            #expect(calls.map(\.destination) == ["+14155551001", "+14155551000"])
            let call = try #require(calls.first)
            #expect(call.subaccountSID == Fixture.subaccount)
            #expect(call.verification == .approved)
            #expect(call.callerE164 == Fixture.caller)
            #expect(call.callerActive && call.callerOwnedByTenant)
            #expect(call.attempt == 1)
        }
    }

    @Test("right after a bulk enqueue the claim reads its index in order: call_jobs is analyzed, so due rows are not all sorted per claim")
    func bulkEnqueueAnalyzes() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            #expect(try await store.scalar("SELECT reltuples::bigint FROM pg_class WHERE oid = 'call_jobs'::regclass") == -1)
            _ = try await store.enqueue(Fixture.destinations(3_000, start: 300_000).map { try Fixture.request($0) })
            #expect(try await store.scalar("SELECT reltuples::bigint FROM pg_class WHERE oid = 'call_jobs'::regclass") == 3_000)
            // The claim's row choice (JobStore.claim's first CTE): with statistics it walks call_jobs_claimable in dial order and
            // stops after the batch; without them the planner fetched every due row and sorted them, for every claim.
            var plan: [String] = []
            for try await line in try await store.client.query("""
                EXPLAIN SELECT id FROM call_jobs j
                WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()
                  AND NOT \(unescaped: JobStore.scopePaused("j"))
                ORDER BY priority, run_at, id LIMIT 200 FOR UPDATE SKIP LOCKED
                """, logger: store.logger).decode(String.self) { plan.append(line) }
            #expect(plan.contains { $0.contains("Index Scan using call_jobs_claimable") }, "\(plan.joined(separator: "\n"))")
            #expect(!plan.contains { $0.contains("Sort") }, "\(plan.joined(separator: "\n"))")
            // A small enqueue into a table the statistics already describe does not analyze again.
            _ = try await store.enqueue([try Fixture.request("+14155559999")])
            #expect(try await store.scalar("SELECT reltuples::bigint FROM pg_class WHERE oid = 'call_jobs'::regclass") == 3_000)
        }
    }

    @Test("a job due later is not claimed before its run_at")
    func notBeforeRunAt() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let later = try CallRequest(tenantID: "acme", to: "+14155551000", objective: "x", runAt: Date().addingTimeInterval(3600)).withConsent().validated()
            _ = try await store.enqueue([later])
            #expect(try await store.claim(limit: 10, worker: "w", lease: .seconds(30)).isEmpty)
        }
    }

    @Test("the same idempotency key and body returns the existing job; another body is a 409 and writes nothing")
    func idempotency() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let first = try await store.enqueue([try Fixture.request("+14155551234", key: "order-42")])
            let again = try await store.enqueue([try Fixture.request("+14155551234", key: "order-42")])
            #expect(first[0].created && !again[0].created)
            #expect(first[0].jobID == again[0].jobID)
            await #expect(throws: OpenPhnError(.idempotencyConflict, "Idempotency-Key 'order-42' was already used with a different request body.",
                                               details: ["idempotency_key": "order-42", "row": 2])) {
                try await store.enqueue([try Fixture.request("+14155550000", key: "fresh"),
                                         try Fixture.request("+14155551234", key: "order-42", objective: "Something else")])
            }
            // The batch with the conflict wrote nothing, not even its valid first row.
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 1)
            // Keys are per tenant: another tenant may reuse it.
            try await Fixture.tenant(store, id: "globex")
            let other = try await store.enqueue([try Fixture.request("+14155551234", tenant: "globex", key: "order-42", objective: "Other")])
            #expect(other[0].created)
        }
    }

    @Test("a duplicate key inside one batch collapses to one job when the bodies match, and is a 409 when they differ")
    func duplicateKeysInBatch() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let same = try await store.enqueue([try Fixture.request("+14155551234", key: "k"), try Fixture.request("+14155551234", key: "k")])
            #expect(same[0].jobID == same[1].jobID)
            #expect(same.map(\.created) == [true, false])
            await #expect(throws: OpenPhnError.self) {
                try await store.enqueue([try Fixture.request("+14155551234", key: "j"), try Fixture.request("+14155551235", key: "j")])
            }
        }
    }

    @Test("a bulk enqueue with an unknown tenant or a foreign caller number is refused whole, with the matching code")
    func bulkAllOrNothing() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            var batch = try Fixture.destinations(50).map { try Fixture.request($0) }
            batch.append(try Fixture.request("+14155559999", tenant: "nobody"))
            do {
                _ = try await store.enqueue(batch)
                Issue.record("expected not_found")
            } catch let error as OpenPhnError {
                #expect(error.error == .notFound)
                #expect(error.details["row"] == 51)
            }
            let foreign = try CallRequest(tenantID: "acme", to: "+14155551234", from: "+14155550199", objective: "x").withConsent().validated()
            await #expect(throws: OpenPhnError.self) { try await store.enqueue([try Fixture.request("+14155550001"), foreign]) }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
        }
    }

    @Test("a large campaign goes in as a few statements and every row is queued")
    func bulkLarge() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let results = try await store.enqueue(try Fixture.destinations(12_000).map { try Fixture.request($0) })
            #expect(results.count == 12_000 && results.allSatisfy(\.created))
            #expect(Set(results.map(\.jobID)).count == 12_000)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'queued'") == 12_000)
        }
    }

    @Test("an expired lease is recovered into in_doubt, attempt marked possibly dialed; the old holder's write is fenced off")
    func leaseRecovery() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let ids = try await store.enqueue([try Fixture.request("+14155551234"), try Fixture.request("+14155551235", maxAttempts: 1)]).map(\.jobID)
            let calls = try await store.claim(limit: 2, worker: "dead-worker", lease: .milliseconds(100))
            #expect(calls.count == 2)
            try await Task.sleep(for: .milliseconds(300))
            let recovered = try await store.recoverExpiredLeases()
            #expect(Set(recovered.map(\.jobID)) == Set(ids))
            for id in ids {
                let job = try #require(try await store.job(id))
                #expect(job.state == .inDoubt)
                #expect(job.attempt == 1)
                #expect(job.lastError?.error == .workerLost)
            }
            let log = try await store.attempts(jobID: ids[0])
            #expect(log.last?.kind == "recovery" && log.last?.possiblyDialed == true && log.last?.worker == "dead-worker")
            // The dead worker wakes up and tries to record a dial: fenced, the job is untouched, but the attempt row is kept.
            let late = JobOutcome.dialed(JobRef(jobID: ids[0], attempt: 1, maxAttempts: 4), callSID: "CA" + String(repeating: "1", count: 32),
                                       outcomeDeadline: .seconds(60), detail: [:])
            #expect(try await store.record([late], worker: "dead-worker").isEmpty)
            #expect(try await store.job(ids[0])?.state == .inDoubt)
            #expect(try await store.attempts(jobID: ids[0]).last?.callSID == late.callSID)
            // Nothing is recovered twice.
            #expect(try await store.recoverExpiredLeases().isEmpty)
        }
    }

    @Test("dial slots are shared through the database: a subaccount never gets more than its calls per second")
    func pacingSlots() async throws {
        try await TestDatabase.withStore { store, _ in
            let sub = Fixture.subaccount
            try await store.setCallsPerSecond(subaccount: sub, 5)
            // One second of look-ahead grants 4.5 slots per second (5 less the headroom) plus the one at the window's edge.
            let first = try await store.reserveDialSlots(subaccount: sub, count: 20, defaultCallsPerSecond: 1, maxAhead: .seconds(1))
            #expect(first.count == 5)
            #expect(first.callsPerSecond == 4.5)
            // Twenty more with ten seconds of look-ahead: granted, and they push the next free slot about 5.5 s out.
            let more = try await store.reserveDialSlots(subaccount: sub, count: 20, defaultCallsPerSecond: 1, maxAhead: .seconds(10))
            #expect(more.count == 20)
            let saturated = try await store.reserveDialSlots(subaccount: sub, count: 1, defaultCallsPerSecond: 1, maxAhead: .seconds(1))
            #expect(saturated.count == 0)
            #expect(saturated.firstIn > .seconds(3))
            // A 429 pauses the subaccount for every worker.
            let other = "AC" + String(repeating: "9", count: 32)
            _ = try await store.reserveDialSlots(subaccount: other, count: 1, defaultCallsPerSecond: 100, maxAhead: .zero)
            try await store.pauseSubaccount(other, for: .seconds(30))
            let paused = try await store.reserveDialSlots(subaccount: other, count: 1, defaultCallsPerSecond: 100, maxAhead: .seconds(1))
            #expect(paused.count == 0 && paused.firstIn > .seconds(28))
        }
    }
}
