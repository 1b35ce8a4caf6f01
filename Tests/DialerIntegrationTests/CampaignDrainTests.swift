import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// A campaign drained end to end the way it meets Twilio: a seeded mix of outcomes (people, machines, busy lines,
/// no answers, failures) with machine detection, status callbacks late, twice or never, signed with the tenant's
/// subaccount token; dialer serve's receiver settles them, the sweeper the ones whose final callback never came.
@Suite("A campaign drained end to end: mixed outcomes, faulty callbacks, policy retries and caps")
struct CampaignDrainTests {
    static let delays: [String: [Double]] = ["busy": [60], "no_answer": [60, 120], "failed": [60]]

    @Test("every lead ends as its outcomes and the policy say; each retry lands at its delay inside legal hours; no lead is dialed past its cap")
    func mixedCampaign() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            var policy = CampaignPolicy.Overrides()
            policy.busyDelaysSeconds = [60]
            policy.noAnswerDelaysSeconds = [60, 120]
            policy.failedDelaysSeconds = [60]
            policy.machineDetection = "Enable"
            policy.maxDials = 3
            try await store.setPolicy(tenant: "acme", campaign: "mix", policy, by: "test")
            let people = Fixture.destinations(60, start: 50_000)
            var enqueued: [Int64] = []
            for person in people {
                let request = try CallRequest(tenantID: "acme", to: person, campaignID: "mix", objective: "Renewal reminder").withConsent().validated()
                enqueued.append(try await store.enqueue([request])[0].jobID)
            }
            let ids = enqueued
            let subaccountToken = "subaccount-token-\(UInt32.random(in: 0...UInt32.max))"
            let fake = Fixture.fake { configuration in
                configuration.accounts = [.init(sid: Fixture.subaccount, numbers: [Fixture.caller], authToken: subaccountToken)]
                configuration.timeScale = 0.002
                configuration.outcomeMix = try? OutcomeMix(parsing: "human=0.3,machine=0.15,busy=0.2,no-answer=0.2,failed=0.15")
                configuration.callbackFaults = CallbackFaults(reorder: 0.2, duplicate: 0.2, drop: 0.1)
            }
            let port = try StatusCallbackReceiverTests.freePort()
            let callbackURL = "http://127.0.0.1:\(port)/twilio/status"
            try await fake.withRunning { baseURL in
                var configured = Fixture.twilio(baseURL)
                configured.statusCallbackURL = callbackURL
                let twilio = configured
                try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
                    let keys = SigningKeys(platformToken: Secret(Fixture.password), store: store, twilio: client, logger: TestDatabase.logger)
                    try await StatusCallbackReceiverTests.withServer(store, callbackURL: callbackURL, port: port, keys: keys) { _ in
                        let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                        for _ in 0..<5 {
                            try await Fixture.drain(store, twilio: twilio, wait: nil)
                            try await Self.settleAll(store, ids, sweeper: worker.sweeper)
                            let retrying = try await Self.jobs(store, ids).filter { $0.state == .retrying }.map(\.id)
                            if retrying.isEmpty { break }
                            #expect(try await store.makeDueNow(retrying) == retrying.count)
                        }
                    }
                }
            }
            let jobs = try await Self.jobs(store, ids)
            var seen: [String: Int] = [:]
            for job in jobs {
                #expect(job.state.isFinal, "job \(job.id) \(job.state)")
                let attempts = try await store.attempts(jobID: job.id)
                let dials = attempts.filter { $0.kind == "dial" && $0.outcome == "dialed" }
                let outcomes = attempts.filter { $0.kind == "outcome" }
                // Each call Twilio created is one dial of the job, and each has one outcome applied, whatever the callbacks did.
                #expect(await fake.ledger.calls(to: job.destination).count == dials.count)
                #expect(dials.count <= 3 && outcomes.count == dials.count, "job \(job.id): \(dials.count) dials, \(outcomes.count) outcomes")
                let last = try #require(job.lastOutcome)
                seen[last, default: 0] += 1
                switch job.state {
                case .completed: #expect(["human", "unknown", "machine"].contains(last), "\(last)")
                case .failed:
                    let code = try #require(job.lastError?.error)
                    #expect([.leadExhausted, .invalidPhone, .callDeclined].contains(code))
                    if code == .leadExhausted { #expect(dials.count == 3 && job.lastError?.details["reason"] == "max_dials") }
                default: Issue.record("job \(job.id) ended \(job.state)")
                }
                // Every retry: no sooner than the policy's delay for that outcome's nth retry, and inside legal hours.
                var earlier: [String: Int] = [:]
                for row in outcomes {
                    let n = earlier[row.outcome, default: 0]
                    earlier[row.outcome] = n + 1
                    guard row.detail?["decision"] == "retry" else { continue }
                    let list = try #require(Self.delays[row.outcome], "retried \(row.outcome)")
                    let next = try #require(row.detail?["next_dial_at"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) })
                    #expect(next.timeIntervalSince(row.recordedAt) >= list[min(n, list.count - 1)] - 2, "job \(job.id) retry \(n + 1) of \(row.outcome)")
                    let hours = CallHours.shipped.evaluate(try PhoneNumber(validating: job.destination), at: next)
                    #expect(hours.allowed, "retry of job \(job.id) at \(next) outside \(hours.rule)")
                }
                // With machine detection asked, a completed call reports who answered.
                for dial in dials {
                    guard let sid = dial.callSID, let call = try await store.callOutcome(callSID: sid), call.status == .completed else { continue }
                    #expect(call.answeredBy != nil, "call \(sid) completed without AnsweredBy")
                }
            }
            // The seeded mix gives every path: contacts, machines, retries that ended in a contact or the cap, bad numbers.
            #expect(seen["human", default: 0] > 0 && seen["machine", default: 0] > 0, "\(seen)")
            #expect(jobs.contains { $0.lastError?.error == .leadExhausted }, "\(seen)")
            let events = try await store.scalar("SELECT count(*)::bigint FROM call_events WHERE source = 'lookup'")
            #expect(events > 0, "some final callbacks were dropped, so the sweeper looked calls up")
        }
    }

    static func jobs(_ store: JobStore, _ ids: [Int64]) async throws -> [JobSnapshot] {
        var jobs: [JobSnapshot] = []
        for id in ids { if let job = try await store.job(id) { jobs.append(job) } }
        return jobs
    }

    /// Waits for the callbacks to settle the round's calls; those whose final callback never comes are made due for the
    /// sweeper, which looks them up.
    static func settleAll(_ store: JobStore, _ ids: [Int64], sweeper: OutcomeSweeper) async throws {
        for round in 0..<100 {
            let waiting = try await jobs(store, ids).filter { $0.state == .awaitingOutcome }.map(\.id)
            if waiting.isEmpty { return }
            if round >= 20 {
                _ = try await store.makeDueNow(waiting)
                _ = try await sweeper.runOnce()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("calls still waiting for their outcome")
    }
}
