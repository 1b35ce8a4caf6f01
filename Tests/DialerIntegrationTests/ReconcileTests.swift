import DialerCore
import FakeTwilio
import Foundation
import Testing

@testable import DialerCore

/// Reconciliation of in-doubt jobs against a fake Twilio whose calls leave the queue on its own clock (issue 10): one
/// Read Calls query by To and From, paged, over every call since the job was created, so no call is missed however
/// its status moves, and no job is dialed twice.
@Suite("Reconciliation: one paged lookup over the job's whole life")
struct ReconcileTests {
    static let person = "+14155557301"

    /// What each Read Calls answer saw: the status of every call in the ledger when the page was computed.
    actor ListLog {
        private(set) var statuses: [[String]] = []
        func add(_ seen: [String]) { statuses.append(seen) }
    }

    /// A fake whose calls stay `queued` for that long, and whose clock moves `jump` after every Read Calls answer:
    /// whatever was queued when a page was answered has left the queue (and ended) before the next request. The
    /// documented race of twilio.md section 3.2, made certain.
    static func queueLeavingFake(queued: Duration = .seconds(600), jump: Duration = .seconds(1200), log: ListLog? = nil) async -> FakeTwilio {
        let fake = Fixture.fake { $0.timings.queued = queued }
        let ledger = fake.ledger
        await ledger.afterEachList {
            if let log {
                let now = await ledger.now()
                await log.add(await ledger.calls.map { $0.status(at: now) })
            }
            await ledger.advanceClock(by: jump)
        }
        return fake
    }

    /// Creates a call through the production client, as a dial attempt would, and returns its SID.
    static func createCall(_ client: TwilioClient, to: String = person, jobID: Int64) async throws -> String {
        let outcome = await client.createCall(subaccountSID: Fixture.subaccount, to: to, from: Fixture.caller, jobID: jobID, attempt: 1,
                                              logger: TestDatabase.logger)
        guard case .dialed(let sid, _) = outcome else {
            Issue.record("expected a 201, got \(outcome)")
            throw CancellationError()
        }
        return sid
    }

    /// Job A, in doubt after its worker died while dialing, whose request did create call X; then `others` more jobs to
    /// the same person from the same number, each dialed (its SID recorded) with a call created after X.
    /// - Returns: A leased for reconciliation by `worker`, X, and the other jobs' call SIDs, oldest first.
    static func inDoubtWithOthers(_ store: JobStore, _ client: TwilioClient, worker: DialWorker, others: Int, createX: Bool = true) async throws
        -> (call: InDoubtCall, x: String?, others: [String])
    {
        // One enqueue per job: rows of one enqueue naming the same person are one job.
        var ids: [Int64] = []
        for i in 0...others { ids.append(try await store.enqueue([try Fixture.request(person, key: "job-\(i)")])[0].jobID) }
        let claimed = try await store.claim(limit: ids.count, worker: "gone", lease: .milliseconds(200))
        try #require(claimed.map(\.jobID).sorted() == ids.sorted())
        let x = createX ? try await createCall(client, jobID: ids[0]) : nil
        var otherSIDs: [String] = []
        for id in ids.dropFirst() {
            let sid = try await createCall(client, jobID: id)
            otherSIDs.append(sid)
            let dialed = JobOutcome.dialed(JobRef(jobID: id, attempt: 1, maxAttempts: 4), callSID: sid, outcomeDeadline: .seconds(60), detail: [:])
            #expect(try await store.record([dialed], worker: "gone") == [id])
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await store.recoverExpiredLeases().map(\.jobID) == [ids[0]])
        let call = try #require(try await store.claimInDoubt(limit: 5, worker: worker.configuration.workerID, lease: .seconds(30)).first)
        #expect(call.jobID == ids[0])
        return (call, x, otherSIDs)
    }

    @Test("the issue: calls leave the queue while the dialer looks, every Create Call answers 500 after creating the call: dialed once, one call")
    func issueReproduction() async throws {
        // Two seconds in the queue, two and a half per jump: the clock runs ahead only a little, so each retry's window
        // (before the fix) really excludes the calls of the attempts before it.
        let fake = await Self.queueLeavingFake(queued: .seconds(2), jump: .milliseconds(2_500))
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                await fake.ledger.script(to: Self.person, Array(repeating: FakeResponse(status: 500, createFirst: true), count: 3))
                let id = try await store.enqueue([try Fixture.request(Self.person, maxAttempts: 3)])[0].jobID
                // Retries a realistic ten seconds apart or more: past the 5 s of clock skew the lookup allows, and past the
                // fake's clock running ahead by its jumps.
                var worker = Fixture.worker(backoffBase: .seconds(11))
                worker.retryPolicy.backoff.cap = .seconds(12)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), worker: worker, wait: .seconds(15))
                // Before the fix: StartTime> missed the queued call, Status=queued missed it once it had left the queue,
                // and a retry looked only for calls of its own attempt: three attempts, three calls, and the job failed
                // upstream_unavailable.
                let job = try #require(try await store.job(id))
                let calls = await fake.ledger.calls(to: Self.person)
                #expect(calls.count == 1)
                #expect(job.state == .awaitingOutcome && job.attempt == 1)
                #expect(job.lastError == nil, "\(String(describing: job.lastError?.error))")
                #expect(job.callSID == calls.first?.sid)
                #expect(try await store.attempts(jobID: id).map(\.outcome) == ["in_doubt", "found"])
            }
        }
    }

    @Test("a call that leaves the queue between two pages of one lookup is found; another job's newer call is not taken for it")
    func queueLeftMidLookup() async throws {
        let log = ListLog()
        let fake = await Self.queueLeavingFake(log: log)
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                var twilio = Fixture.twilio(baseURL)
                twilio.callListPageSize = 1
                let (id, x) = try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let setup = try await Self.inDoubtWithOthers(store, client, worker: worker, others: 1)
                    let outcome = await worker.reconciler.reconcile(setup.call)
                    #expect(outcome.state == .awaitingOutcome && outcome.outcome == .found)
                    #expect(try await store.record([outcome], worker: worker.configuration.workerID) == [setup.call.jobID])
                    return (setup.call.jobID, setup.x)
                }
                // Page 1 (the other job's call) was answered while both calls were queued, page 2 (X) after both had ended.
                #expect(await log.statuses == [["queued", "queued"], ["completed", "completed"]])
                #expect(await fake.ledger.listRequests == 2)
                let job = try #require(try await store.job(id))
                #expect(job.state == .awaitingOutcome && job.callSID == x)
                #expect(await fake.ledger.calls.count == 2)
            }
        }
    }

    @Test("a call created by an earlier attempt settles the job, though the attempt in doubt began long after it")
    func earlierAttemptsCall() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let id = try await store.enqueue([try Fixture.request(Self.person, maxAttempts: 3)])[0].jobID
                // Attempt 1: the worker dies after its request created the call; its lookup misses the call (as the lookup
                // before the fix could), and the job is retried six seconds later, past any clock-skew margin.
                _ = try await store.claim(limit: 1, worker: "gone", lease: .milliseconds(200))
                let x = try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { try await Self.createCall($0, jobID: id) }
                try await Task.sleep(for: .milliseconds(300))
                _ = try await store.recoverExpiredLeases()
                let first = try #require(try await store.claimInDoubt(limit: 1, worker: "old-reconciler", lease: .seconds(30)).first)
                let missed = JobOutcome.reconciledNotFound(JobRef(jobID: id, attempt: first.attempt, maxAttempts: first.maxAttempts),
                                                           retryAfter: .seconds(6))
                #expect(try await store.record([missed], worker: "old-reconciler") == [id])
                // Attempt 2 gets a 503 (before creating anything, but possibly dialed): in doubt again, reconciled.
                await fake.ledger.script(to: Self.person, [FakeResponse(status: 503)])
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), wait: .seconds(15))
                let job = try #require(try await store.job(id))
                #expect(job.state == .awaitingOutcome && job.attempt == 2)
                #expect(job.callSID == x)
                #expect(await fake.ledger.calls(to: Self.person).count == 1)
                #expect(try await store.attempts(jobID: id).suffix(2).map(\.outcome) == ["in_doubt", "found"])
            }
        }
    }

    @Test("a list longer than one page is followed to the window's start: the job's own call is on the last page")
    func followsPages() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                var twilio = Fixture.twilio(baseURL)
                twilio.callListPageSize = 2
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let setup = try await Self.inDoubtWithOthers(store, client, worker: worker, others: 4)
                    let outcome = await worker.reconciler.reconcile(setup.call)
                    #expect(outcome.state == .awaitingOutcome)
                    #expect(outcome.callSID == setup.x)
                    #expect(!setup.others.contains(outcome.callSID ?? ""))
                }
                // Five calls, two per page: three pages.
                #expect(await fake.ledger.listRequests == 3)
            }
        }
    }

    @Test("the page cap before the window's start answers unreachable, never not-found; a page wholly older than the window ends the reading")
    func pageCap() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                var twilio = Fixture.twilio(baseURL)
                twilio.callListPageSize = 2
                twilio.callListMaxPages = 2
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    // Five calls to the same person an hour before the job existed: outside its window.
                    await fake.ledger.advanceClock(by: .seconds(-3600))
                    for i in 0..<5 { _ = try await Self.createCall(client, jobID: Int64(1_000 + i)) }
                    await fake.ledger.advanceClock(by: .seconds(3600))
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let setup = try await Self.inDoubtWithOthers(store, client, worker: worker, others: 4)
                    // Two pages of two hold four of the window's five calls: the window is not seen whole.
                    let capped = await worker.reconciler.reconcile(setup.call)
                    #expect(capped.state == .inDoubt && capped.outcome == .unreachable)
                    #expect(capped.detail?["reason"]?.stringValue?.contains("more than 2 pages") == true)
                    #expect(await fake.ledger.listRequests == 2)
                    #expect(try await store.record([capped], worker: worker.configuration.workerID) == [setup.call.jobID])
                    #expect(try await store.job(setup.call.jobID)?.state == .inDoubt)
                    #expect(await fake.ledger.calls.count == 5 + 5)
                }
                // Pages 3 (the job's own call and an old one) and 4 (old only) reach past the window's start: the reading
                // stops at the first page wholly older than the window (page 5 is never fetched), and the job's call is found.
                twilio.callListMaxPages = 5
                let x = await fake.ledger.calls(to: Self.person)[5].sid
                try await Task.sleep(for: .milliseconds(500))  // the in-doubt job's next lookup is due after the reconcile delay
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let call = try #require(try await store.claimInDoubt(limit: 1, worker: worker.configuration.workerID, lease: .seconds(30)).first)
                    let before = await fake.ledger.listRequests
                    let outcome = await worker.reconciler.reconcile(call)
                    #expect(outcome.state == .awaitingOutcome)
                    #expect(outcome.callSID == x)
                    #expect(await fake.ledger.listRequests - before == 4)
                }
            }
        }
    }

    @Test("a call another job recorded does not settle this one: with no call of its own the job is retried")
    func othersCallNotAdopted() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let setup = try await Self.inDoubtWithOthers(store, client, worker: worker, others: 1, createX: false)
                    let outcome = await worker.reconciler.reconcile(setup.call)
                    #expect(outcome.state == .retrying && outcome.outcome == .notFound)
                    #expect(outcome.callSID == nil)
                }
            }
        }
    }
}
