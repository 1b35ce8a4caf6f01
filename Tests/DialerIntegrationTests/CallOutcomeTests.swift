import DialerCore
import FakeTwilio
import Foundation
import Testing

/// After the dial, end to end over real HTTP and PostgreSQL: the fake Twilio places each call and sends its status
/// callbacks to a running `dialer serve` receiver, which stores them and applies the final one to the job through the
/// campaign policy; the sweeper looks up calls whose final callback never came.
@Suite("After the dial: call outcomes, campaign policy, the sweeper")
struct CallOutcomeTests {
    /// Runs `body` with a callback receiver on a free port and a Twilio configuration whose StatusCallback points at it.
    static func withReceiver<T: Sendable>(_ store: JobStore, _ body: @Sendable (_ twilio: @escaping @Sendable (String) -> TwilioConfiguration) async throws -> T)
        async throws -> T
    {
        let port = try StatusCallbackReceiverTests.freePort()
        let url = "http://127.0.0.1:\(port)/twilio/status"
        return try await StatusCallbackReceiverTests.withServer(store, callbackURL: url, port: port) { _ in
            try await body { baseURL in
                var twilio = Fixture.twilio(baseURL)
                twilio.statusCallbackURL = url
                return twilio
            }
        }
    }

    /// Waits until none of `ids` waits for its call's outcome any more (the callbacks arrive on the fake's own clock).
    static func settled(_ store: JobStore, _ ids: [Int64]) async throws -> [JobSnapshot] {
        for _ in 0..<200 {
            var jobs: [JobSnapshot] = []
            for id in ids { if let job = try await store.job(id) { jobs.append(job) } }
            if jobs.count == ids.count, jobs.allSatisfy({ $0.state != .awaitingOutcome }) { return jobs }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("jobs still waiting for their outcome")
        throw CancellationError()
    }

    /// When the policy's delay from now lands, moved to the next legal window of the number (the oracle of the retry
    /// time: calling hours are unit-tested on their own).
    static func expectedRetry(_ destination: String, after delay: TimeInterval) throws -> TimeInterval {
        let at = Date().addingTimeInterval(delay)
        let hours = CallHours.shipped.evaluate(try PhoneNumber(validating: destination), at: at)
        return (hours.allowed ? at : try #require(hours.nextAllowed)).timeIntervalSinceNow
    }

    static func request(_ to: String, campaign: String? = nil) throws -> ValidatedCallRequest {
        try CallRequest(tenantID: "acme", to: to, campaignID: campaign, objective: "Confirm the appointment").withConsent().validated()
    }

    @Test("each final status follows the default policy: answered completes; busy, no-answer and a passing failure retry at their delays inside legal hours; SIP 404 and 603 end the lead")
    func defaultPolicy() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let people = Fixture.destinations(6, start: 40_000)
            let outcomes: [FakeCallOutcome?] = [nil, .init(status: .busy), .init(status: .noAnswer), .init(status: .failed, sipResponseCode: 404),
                                                .init(status: .failed, sipResponseCode: 603), .init(status: .failed, sipResponseCode: 503)]
            let fake = Fixture.fake()
            for (person, outcome) in zip(people, outcomes) { if let outcome { await fake.ledger.scriptOutcome(to: person, outcome) } }
            var enqueued: [Int64] = []
            for person in people { enqueued.append(try await store.enqueue([try Self.request(person)])[0].jobID) }
            let ids = enqueued
            try await Self.withReceiver(store) { twilio in
                try await fake.withRunning { baseURL in
                    try await Fixture.drain(store, twilio: twilio(baseURL))
                    let jobs = try await Self.settled(store, ids)
                    #expect(jobs[0].state == .completed && jobs[0].lastOutcome == "completed" && jobs[0].lastError == nil)
                    #expect(jobs[1].state == .retrying && jobs[1].lastOutcome == "busy")
                    #expect(abs(jobs[1].runInSeconds - (try Self.expectedRetry(people[1], after: 1_800))) < 15, "\(jobs[1].runInSeconds)")
                    #expect(jobs[2].state == .retrying && jobs[2].lastOutcome == "no_answer")
                    #expect(abs(jobs[2].runInSeconds - (try Self.expectedRetry(people[2], after: 7_200))) < 15, "\(jobs[2].runInSeconds)")
                    #expect(jobs[3].state == .failed && jobs[3].lastError?.error == .invalidPhone)
                    #expect(jobs[4].state == .failed && jobs[4].lastError?.error == .callDeclined)
                    #expect(jobs[5].state == .retrying && jobs[5].lastOutcome == "failed")
                    #expect(abs(jobs[5].runInSeconds - (try Self.expectedRetry(people[5], after: 3_600))) < 15, "\(jobs[5].runInSeconds)")
                    for (id, job) in zip(ids, jobs) {
                        // One outcome row per call, whatever the callbacks' order; it names the call and the policy's decision.
                        let rows = try await store.attempts(jobID: id).filter { $0.kind == "outcome" }
                        #expect(rows.count == 1, "job \(id)")
                        #expect(rows.first?.callSID == job.callSID && rows.first?.outcome == job.lastOutcome)
                        #expect(rows.first?.detail?["decision"]?.stringValue != nil)
                        let sid = try #require(job.callSID)
                        let call = try #require(try await store.callOutcome(callSID: sid))
                        #expect(call.ended && call.jobID == id)
                    }
                    // The answered call's four events (initiated, ringing, in-progress, completed) arrive, each stored once.
                    let answered = try #require(jobs[0].callSID)
                    var events = 0
                    for _ in 0..<100 {
                        events = try await store.callOutcome(callSID: answered)?.events ?? 0
                        if events >= 4 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(events == 4)
                    // Create Call carried the ring time, the time limit and every status event.
                    let placed = await fake.ledger.calls
                    #expect(placed.count == 6)
                    #expect(placed.allSatisfy { Set($0.statusCallbackEvents) == ["initiated", "ringing", "answered", "completed"] })
                }
            }
        }
    }

    @Test("a busy lead is dialed again after the campaign's delay, at most max_dials times, then ends lead_exhausted")
    func capsStopRetries() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            var policy = CampaignPolicy.Overrides()
            policy.busyDelaysSeconds = [90]
            policy.maxDials = 3
            try await store.setPolicy(tenant: "acme", campaign: "spring", policy, by: "test")
            let person = Fixture.destinations(1, start: 41_000)[0]
            let fake = Fixture.fake()
            await fake.ledger.scriptOutcome(to: person, .init(status: .busy))
            let id = try await store.enqueue([try Self.request(person, campaign: "spring")])[0].jobID
            try await Self.withReceiver(store) { twilio in
                try await fake.withRunning { baseURL in
                    for dial in 1...3 {
                        try await Fixture.drain(store, twilio: twilio(baseURL), wait: nil)
                        let job = try #require(try await Self.settled(store, [id]).first)
                        #expect(await fake.ledger.calls.count == dial)
                        if dial < 3 {
                            #expect(job.state == .retrying && job.lastOutcome == "busy")
                            #expect(abs(job.runInSeconds - (try Self.expectedRetry(person, after: 90))) < 15, "\(job.runInSeconds)")
                            // The operator's "dial now": the gate still runs at the claim.
                            #expect(try await store.makeDueNow([id]) == 1)
                        } else {
                            #expect(job.state == .failed && job.lastError?.error == .leadExhausted)
                            #expect(job.lastError?.details["reason"] == "max_dials")
                        }
                    }
                    // Exhausted means final: nothing more is dialed.
                    try await Fixture.drain(store, twilio: twilio(baseURL), wait: nil)
                    #expect(await fake.ledger.calls.count == 3)
                    // What operators see: the campaign's calls, and the job's whole story.
                    let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                    let status = try await TestProcess.run(["status", "--campaign", "spring", "--json"], environment: env)
                    let calls = try #require(JSONValue.parse(status.stdout)?["calls"], "\(status.stdout)\(status.stderr)")
                    #expect(calls["attempts"] == 3 && calls["outcomes"]?["busy"] == 3 && calls["leads_exhausted"] == 1)
                    #expect(calls["answer_rate"] == 0 && calls["retries_pending"] == 0 && calls["outcomes_overdue"] == 0)
                    let text = try await TestProcess.run(["status", "--campaign", "spring"], environment: env)
                    #expect(text.stdout.contains("attempts=3") && text.stdout.contains("busy=3") && text.stdout.contains("leads exhausted: 1"))
                    let explained = try await TestProcess.run(["explain", "\(id)", "--json"], environment: env)
                    let story = try #require(JSONValue.parse(explained.stdout), "\(explained.stderr)")
                    #expect(story["job"]?["state"] == "failed" && story["job"]?["last_outcome"] == "busy")
                    let dials = story["attempts"]?.arrayValue?.filter { $0["kind"] == "dial" } ?? []
                    #expect(dials.count == 3)
                    for dial in dials {
                        #expect(dial["call"]?["status"] == "busy" && dial["call"]?["sip_response_code"] == 486)
                        #expect(dial["gate"]?["decision"] == "allow" && dial["gate"]?["rule"]?.stringValue != nil)
                        #expect(dial["gate"]?["local_time"]?.arrayValue?.isEmpty == false)
                    }
                    let decisions = story["attempts"]?.arrayValue?.filter { $0["kind"] == "outcome" }.compactMap { $0["detail"]?["decision"]?.stringValue }
                    #expect(decisions == ["retry", "retry", "exhausted"])
                }
            }
        }
    }

    @Test("with no final callback the sweeper looks the call up at Twilio and settles it; Twilio unreachable, the job keeps waiting")
    func sweeper() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let people = Fixture.destinations(2, start: 42_000)
            let fake = Fixture.fake()
            await fake.ledger.scriptOutcome(to: people[1], .init(status: .noAnswer))
            var enqueued: [Int64] = []
            for person in people { enqueued.append(try await store.enqueue([try Self.request(person)])[0].jobID) }
            let ids = enqueued
            try await fake.withRunning { baseURL in
                // No StatusCallback at all: only the sweeper can learn the outcome.
                var twilio = Fixture.twilio(baseURL)
                twilio.statusCallbackURL = nil
                try await Fixture.drain(store, twilio: twilio)
                for id in ids {
                    let job = try #require(try await store.job(id))
                    #expect(job.state == .awaitingOutcome && job.runInSeconds > 60, "its deadline is the ring time + time limit + grace")
                }
                // Past the deadline (made due now), and once the fake's calls have ended on its clock.
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await store.makeDueNow(ids) == 2)
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let swept = try await worker.sweeper.runOnce()
                    #expect(swept == 2)
                }
                let jobs = try await Self.settled(store, ids)
                #expect(jobs[0].state == .completed && jobs[0].lastOutcome == "completed")
                #expect(jobs[1].state == .retrying && jobs[1].lastOutcome == "no_answer")
                let sid = try #require(jobs[0].callSID)
                let looked = try #require(try await store.callOutcome(callSID: sid))
                #expect(looked.ended && looked.events == 1)
            }
            // Twilio unreachable: the job keeps waiting and is asked again later (its deadline moved ahead).
            let person = Fixture.destinations(1, start: 42_100)[0]
            let id = try await store.enqueue([try Self.request(person)])[0].jobID
            try await fake.withRunning { baseURL in
                var twilio = Fixture.twilio(baseURL)
                twilio.statusCallbackURL = nil
                try await Fixture.drain(store, twilio: twilio)
            }
            #expect(try await store.makeDueNow([id]) == 1)
            var dead = Fixture.twilio("http://127.0.0.1:9", timeout: .seconds(1))
            dead.statusCallbackURL = nil
            try await TwilioClient.with(dead, logger: TestDatabase.logger) { client in
                let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                let first = try await worker.sweeper.runOnce()
                let second = try await worker.sweeper.runOnce()
                #expect(first == 1)
                #expect(second == 0, "not asked again before the recheck")
            }
            let job = try #require(try await store.job(id))
            #expect(job.state == .awaitingOutcome && job.runInSeconds > 0)
        }
    }

    @Test("a call reconciliation finds after its final callback came (stored while the job was in doubt) is settled at once, not at the sweeper's deadline")
    func reconciledAfterFinal() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let person = Fixture.destinations(1, start: 44_000)[0]
            let id = try await store.enqueue([try Self.request(person)])[0].jobID
            #expect(try await store.claim(limit: 1, worker: "gone", lease: .seconds(30)).map(\.jobID) == [id])
            let fake = Fixture.fake()
            try await fake.withRunning { baseURL in
                var twilio = Fixture.twilio(baseURL)
                twilio.statusCallbackURL = nil
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let sid = try await ReconcileTests.createCall(client, to: person, jobID: id)
                    // Twilio answered 500 after creating the call; the call's final callback is stored while the job is in doubt.
                    let failure = DialFailure(kind: .serverError, error: OpenPhnError(.upstreamUnavailable, "Twilio answered 500."), possiblyDialed: true)
                    let inDoubt = JobOutcome.inDoubt(JobRef(jobID: id, attempt: 1, maxAttempts: 4), reconcileIn: .zero, failure: failure, detail: [:])
                    #expect(try await store.record([inDoubt], worker: "gone") == [id])
                    let busy = StatusCallback(callSID: sid, sequenceNumber: 2, status: .busy, answeredBy: nil, callDuration: 0, jobID: id,
                                              sipResponseCode: 486)
                    #expect(try await store.record(busy))
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                    let reconciled = try await worker.reconciler.runOnce()
                    #expect(reconciled.map(\.state) == [.awaitingOutcome])
                }
            }
            let job = try #require(try await store.job(id))
            #expect(job.state == .retrying && job.lastOutcome == "busy", "\(job.state)")
        }
    }

    @Test("a final callback that beats the worker's write of the 201 is applied as soon as the job waits for it")
    func earlyFinalCallback() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let id = try await store.enqueue([try Self.request(Fixture.destinations(1, start: 43_000)[0])])[0].jobID
            let claimed = try await store.claim(limit: 1, worker: "w1", lease: .seconds(30))
            #expect(claimed.map(\.jobID) == [id])
            let sid = "CA" + String(repeating: "cd", count: 16)
            let final = try StatusCallback(parameters: [("CallSid", sid), ("CallStatus", "busy"), ("SequenceNumber", "3"), ("SipResponseCode", "486")],
                                           query: [("job", "\(id)"), ("attempt", "1")])
            // The job was still active when the callback came: nothing to settle yet, and the write says so.
            #expect(try await store.record([final]).early == [id])
            #expect(try await store.settledCalls([id]).isEmpty)
            let dialed = JobOutcome.dialed(JobRef(jobID: id, attempt: 1, maxAttempts: 4), callSID: sid, outcomeDeadline: .seconds(600), detail: [:])
            #expect(try await store.record([dialed], worker: "w1") == [id])
            #expect(try await store.jobsWithFinalOutcome(callSIDs: [sid]) == [id])
            let settler = OutcomeSettler(store: store, policies: PolicyBook(store: store, logger: TestDatabase.logger), metrics: DialerMetrics(),
                                         actor: "w1", logger: TestDatabase.logger)
            let applied = try await settler.settle(jobIDs: [id])
            #expect(applied.map(\.state) == [.retrying])
            // Settling the same call again changes nothing (fenced on the job still waiting for that call).
            #expect(try await settler.settle(jobIDs: [id]).isEmpty)
            #expect(try await store.job(id)?.lastOutcome == "busy")
        }
    }
}

@Suite("dialer campaign set and show")
struct CampaignCommandTests {
    @Test("set stores only the fields named, show prints the effective policy and where each value comes from; bad input is one line with its code")
    func setAndShow() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            let tenantDefaults = try await TestProcess.run(["campaign", "set", "--tenant", "acme", "--max-dials", "5", "--by", "ops-anna"], environment: env)
            #expect(tenantDefaults.status == 0, "\(tenantDefaults.stderr)")
            let set = try await TestProcess.run(["campaign", "set", "--tenant", "acme", "--campaign", "spring", "--busy-retry", "15m,45m",
                                                 "--machine-detection", "Enable", "--ring-timeout", "25s", "--json"], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let shown = try await TestProcess.run(["campaign", "show", "--tenant", "acme", "--campaign", "spring", "--json"], environment: env)
            let json = try #require(JSONValue.parse(shown.stdout))
            #expect(json["policy"]?["busy_delays_seconds"] == .array([900, 2700]))
            #expect(json["sources"]?["busy_delays_seconds"] == "campaign")
            #expect(json["policy"]?["max_dials"] == 5 && json["sources"]?["max_dials"] == "tenant")
            #expect(json["policy"]?["no_answer_delays_seconds"] == .array([7200, 14400]) && json["sources"]?["no_answer_delays_seconds"] == "default")
            #expect(json["policy"]?["ring_timeout_seconds"] == 25 && json["policy"]?["machine_detection"] == "Enable")
            // What the worker reads: the same resolution.
            let book = PolicyBook(store: store, logger: TestDatabase.logger)
            let policy = await book.policy(tenant: "acme", campaign: "spring")
            #expect(policy.maxDials == 5 && policy.busy.delays == [.seconds(900), .seconds(2700)] && policy.machineDetection == .enable)
            #expect(await book.policy(tenant: "acme", campaign: "autumn").busy == CampaignPolicy.defaults.busy)

            let short = try await TestProcess.run(["campaign", "set", "--tenant", "acme", "--ring-timeout", "10s"], environment: env)
            #expect(short.status == 2 && short.stderr.contains("invalid_request") && short.stderr.contains("64.1200(a)(6)"))
            let badDuration = try await TestProcess.run(["campaign", "set", "--tenant", "acme", "--busy-retry", "5x", "--json"], environment: env)
            #expect(badDuration.status == 2 && JSONValue.parse(badDuration.stdout)?["details"]?["flag"] == "--busy-retry")
            let unknown = try await TestProcess.run(["campaign", "set", "--tenant", "nobody", "--max-dials", "2"], environment: env)
            #expect(unknown.status != 0 && unknown.stderr.contains("not_found"))
            // Nothing else changed by the refused commands.
            #expect(try await store.policies(tenant: "acme").count == 2)
        }
    }
}
