import DialerCore
import FakeTwilio
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import DialerCore

@Suite("Worker end to end: PostgreSQL and the fake Twilio over loopback")
struct WorkerTests {
    /// The nine ways a Twilio answer ends a job, one row of `classificationPaths` each, named by what it protects.
    enum TwilioAnswer: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case created = "201: dialed on the first attempt"
        case unavailableOnce = "503 then 201: retried once, dialed on attempt 2"
        case rateLimited = "429 with Retry-After: 1: retried no sooner than a second later, then dialed"
        case errorAfterCreate = "500 after the call was created: in doubt, reconciled with Twilio, found: dialed once, never re-dialed"
        case slowerThanTimeout = "a 201 slower than the client's timeout, after Twilio created the call: in doubt, then found"
        case invalidNumber = "a terminal 4xx for an invalid number: failed at once with invalid_phone, no retry"
        case unreachableNumber = "a terminal 4xx for an unreachable number: failed with invalid_phone"
        case noGeoPermission = "a terminal 4xx for a destination without geo permission: failed with carrier_rejected and Twilio's code"
        case unavailableThroughout = "500 on every attempt: fails when attempts run out, with the count in details"

        var testDescription: String { rawValue }

        var destination: String {
            switch self {
            case .created: "+14155552001"
            case .unavailableOnce: "+14155552002"
            case .rateLimited: "+14155552003"
            case .errorAfterCreate: "+14155552004"
            case .slowerThanTimeout: "+14155552005"
            case .invalidNumber: "+14155552011"
            case .unreachableNumber: "+14155552012"
            case .noGeoPermission: "+14155552013"
            case .unavailableThroughout: "+14155552006"
            }
        }

        /// What the fake answers the first dials (the test magic numbers apply to test credentials only: see `magicNumbers`).
        var script: [FakeResponse] {
            switch self {
            case .unavailableOnce: [FakeResponse(status: 503)]
            case .rateLimited: [FakeResponse(status: 429, retryAfter: "1")]
            case .errorAfterCreate: [FakeResponse(status: 500, createFirst: true)]
            case .slowerThanTimeout: [FakeResponse(status: 201, delayMilliseconds: 6_000, createFirst: true)]
            case .unavailableThroughout: Array(repeating: FakeResponse(status: 500), count: 3)
            case .invalidNumber: [FakeResponse(status: 400, code: 21217)]
            case .unreachableNumber: [FakeResponse(status: 400, code: 21214)]
            case .noGeoPermission: [FakeResponse(status: 400, code: 21215)]
            case .created: []
            }
        }

        var maxAttempts: Int { self == .unavailableThroughout ? 3 : 4 }
        var fails: Bool { [.invalidNumber, .unreachableNumber, .noGeoPermission, .unavailableThroughout].contains(self) }
    }

    @Test("each Twilio answer ends the job the right way: dialed, retried then dialed, or failed with its OpenPhn code",
          arguments: TwilioAnswer.allCases)
    func classificationPaths(_ answer: TwilioAnswer) async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let to = answer.destination
                if !answer.script.isEmpty { await fake.ledger.script(to: to, answer.script) }
                let id = try await store.enqueue([try Fixture.request(to, maxAttempts: answer.maxAttempts)])[0].jobID
                // A 4 s client timeout: well below the slow answer's 6 s, well above a loaded machine's slowest normal answer (the
                // whole suite runs in parallel on 2 cores; 2 s was once not enough for a plain 400).
                let counts = try await Fixture.drain(store, twilio: Fixture.twilio(baseURL, timeout: .seconds(4)))

                let job = try #require(try await store.job(id))
                let log = try await store.attempts(jobID: id)
                switch answer {
                case .created:
                    #expect(job.state == .awaitingOutcome)
                    #expect(job.attempt == 1)
                    #expect(job.callSID?.hasPrefix("CA") == true)
                case .unavailableOnce:
                    #expect(job.state == .awaitingOutcome)
                    #expect(job.attempt == 2)
                case .rateLimited:
                    #expect(job.state == .awaitingOutcome)
                    #expect(log.first?.httpStatus == 429 && log.first?.possiblyDialed == false)
                    try #require(log.count >= 2, "\(log.map(\.outcome))")
                    #expect(log[1].recordedAt.timeIntervalSince(log[0].recordedAt) >= 1.0)
                case .errorAfterCreate:
                    #expect(log.map(\.outcome) == ["in_doubt", "found"])
                    #expect(log.first?.possiblyDialed == true && log.first?.httpStatus == 500)
                    #expect(job.state == .awaitingOutcome && job.attempt == 1)
                    let calls = await fake.ledger.calls(to: to)
                    #expect(calls.count == 1)
                    #expect(job.callSID == calls.first?.sid)
                case .slowerThanTimeout:
                    #expect(log.first?.possiblyDialed == true && log.first?.httpStatus == nil)
                    #expect(log.first?.error?.details["transport"] == "timeout")
                    #expect(log.map(\.outcome) == ["in_doubt", "found"])
                    #expect(await fake.ledger.calls(to: to).count == 1)
                case .invalidNumber:
                    #expect(job.state == .failed)
                    #expect(job.lastError?.error == .invalidPhone)
                    #expect(job.attempt == 1, "\(log.map(\.outcome))")
                case .unreachableNumber:
                    #expect(job.lastError?.error == .invalidPhone)
                case .noGeoPermission:
                    #expect(job.lastError?.error == .carrierRejected)
                    #expect(job.lastError?.details["twilio_code"] == 21215)
                case .unavailableThroughout:
                    #expect(job.state == .failed)
                    #expect(job.lastError?.error == .upstreamUnavailable)
                    #expect(job.lastError?.details["attempts"] == 3)
                    #expect(log.filter { $0.kind == "dial" }.count == 3)
                    #expect(log.filter { $0.outcome == "not_found" }.count == 3)
                }
                #expect(counts.failed == (answer.fails ? 1 : 0))
                // Every attempt left a row; no job is left active.
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state NOT IN ('awaiting_outcome', 'failed')") == 0)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs j WHERE attempt <> (SELECT count(*) FROM call_attempts a WHERE a.job_id = j.id AND a.kind = 'dial')") == 0)
            }
        }
    }

    @Test("with test credentials the magic numbers fail at once with their OpenPhn codes and no call is placed; with live ones they are ordinary")
    func magicNumbers() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                // Live credentials: +15005550001 is a number like any other.
                try await Fixture.tenant(store)
                let live = try await store.enqueue([try Fixture.request("+15005550001")])[0].jobID
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), wait: nil)
                #expect(try await store.job(live)?.state == .awaitingOutcome)
                #expect(await fake.ledger.calls(to: "+15005550001").count == 1)

                // Test credentials, on the test account, from its one valid caller (+15005550006).
                try await store.upsertTenant(id: "sandbox", verification: .approved, subaccountSID: Fixture.testAccount)
                try await store.upsertPhoneNumber(tenantID: "sandbox", e164: "+15005550006", selected: true)
                let magic = ["+15005550001", "+15005550002", "+15005550003", "+15005550004", "+14155552007"]
                let ids = try await store.enqueue(try magic.map { try Fixture.request($0, tenant: "sandbox") }).map(\.jobID)
                var twilio = Fixture.twilio(baseURL)
                (twilio.username, twilio.secret) = (Fixture.testAccount, Secret(Fixture.testToken))
                try await Fixture.drain(store, twilio: twilio, wait: nil)
                let expected: [(ErrorCode?, Int?)] = [(.invalidPhone, 21217), (.invalidPhone, 21214), (.carrierRejected, 21215),
                                                              (.carrierRejected, 21216), (nil, nil)]
                for (id, (error, code)) in zip(ids, expected) {
                    let job = try #require(try await store.job(id))
                    #expect(job.attempt == 1)
                    #expect(job.state == (error == nil ? .awaitingOutcome : .failed), "\(job.destination)")
                    #expect(job.lastError?.error == error, "\(job.destination)")
                    #expect(job.lastError?.details["twilio_code"]?.intValue == code, "\(job.destination)")
                }
                // The accepted test call rang nobody: it is not in the ledger of placed calls, and no callback was sent.
                #expect(await fake.ledger.calls.count == 1)
                #expect(await fake.ledger.testCalls.map(\.to) == ["+14155552007"])
                let testSID = try #require(try await store.job(ids[4])?.callSID)
                #expect(await fake.ledger.callbacks(callSID: testSID).isEmpty)
            }
        }
    }

    @Test("retries follow the exponential schedule: each delay doubles, within jitter")
    func backoffSchedule() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let to = "+14155553001"
                await fake.ledger.script(to: to, Array(repeating: FakeResponse(status: 503), count: 4))
                let id = try await store.enqueue([try Fixture.request(to, maxAttempts: 4)])[0].jobID
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), worker: Fixture.worker(backoffBase: .milliseconds(200)))
                let log = try await store.attempts(jobID: id)
                // A 503 may have placed the call: each attempt goes in doubt, Twilio is asked, and the retry is scheduled by
                // the reconciliation that found no call. The delay follows the attempt's number.
                let delays = log.compactMap { row in
                    row.detail?["retry_in_seconds"].flatMap { if case .number(let n) = $0 { (row.attempt, n) } else { nil } }
                }
                #expect(delays.count == 3, "\(log.map { "\($0.kind)/\($0.outcome)" })")
                for (attempt, delay) in delays {
                    let nominal = 0.2 * pow(2, Double(attempt - 1))
                    // The detail rounds to the millisecond: a delay drawn at the jitter's very edge reads as 0.18 for 0.1800x.
                    #expect(delay >= nominal * 0.9 - 0.001 && delay <= nominal * 1.1 + 0.001, "attempt \(attempt): \(delay) s")
                }
                let job = try #require(try await store.job(id))
                #expect(job.state == .failed && job.attempt == 4)
                #expect(await fake.ledger.requests == 4)
            }
        }
    }

    @Test("reconciliation with Twilio unreachable keeps the job in doubt and asks again later; it is never re-dialed meanwhile")
    func reconcileUnreachable() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let id = try await store.enqueue([try Fixture.request("+14155558001")])[0].jobID
            _ = try await store.claim(limit: 1, worker: "gone", lease: .milliseconds(50))
            try await Task.sleep(for: .milliseconds(150))
            _ = try await store.recoverExpiredLeases()
            try await TwilioClient.with(Fixture.twilio("http://127.0.0.1:9"), logger: TestDatabase.logger) { client in
                let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(), logger: TestDatabase.logger)
                let call = try #require(try await store.claimInDoubt(limit: 5, worker: worker.configuration.workerID, lease: .seconds(30)).first)
                let outcome = await worker.reconciler.reconcile(call)
                #expect(outcome.state == .inDoubt && outcome.outcome == .unreachable)
                #expect(try await store.record([outcome], worker: worker.configuration.workerID) == [id])
            }
            let job = try #require(try await store.job(id))
            #expect(job.state == .inDoubt && job.attempt == 1)
            // Not due yet, and no dial was attempted: a claim does not see it.
            #expect(try await store.claim(limit: 5, worker: "w", lease: .seconds(5)).isEmpty)
        }
    }

    @Test("a connection refused is retryable and not possibly dialed")
    func connectionRefused() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let id = try await store.enqueue([try Fixture.request("+14155554001", maxAttempts: 2)])[0].jobID
            try await Fixture.drain(store, twilio: Fixture.twilio("http://127.0.0.1:9"))
            let log = try await store.attempts(jobID: id)
            #expect(log.count == 2)
            #expect(log.allSatisfy { !$0.possiblyDialed && $0.outcome == "retryable" })
            #expect(try await store.job(id)?.lastError?.error == .upstreamUnavailable)
        }
    }

    @Test("the gate defers a tenant in review without spending an attempt, and blocks a rejected tenant and an inactive number")
    func gate() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store, id: "review", verification: .pendingReview)
                try await Fixture.tenant(store, id: "rejected", verification: .rejected)
                try await Fixture.tenant(store, id: "acme")
                let ids = try await store.enqueue([try Fixture.request("+14155555001", tenant: "review"), try Fixture.request("+14155555002", tenant: "rejected"),
                                                   try Fixture.request("+14155555003", tenant: "acme")]).map(\.jobID)
                try await store.upsertPhoneNumber(tenantID: "acme", e164: Fixture.caller, active: false, selected: true)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), wait: nil)
                let review = try #require(try await store.job(ids[0]))
                #expect(review.state == .deferred && review.attempt == 0 && review.runInSeconds > 600)
                #expect(review.lastError?.error == .verificationPending)
                #expect(try await store.job(ids[1])?.lastError?.error == .verificationPending)
                #expect(try await store.job(ids[1])?.state == .failed)
                #expect(try await store.job(ids[2])?.lastError?.error == .noActiveNumber)
                #expect(try await store.attempts(jobID: ids[0]).first?.kind == "gate")
                #expect(await fake.ledger.requests == 0)
            }
        }
    }

    @Test("SIGTERM with dials in flight: claiming stops, in-flight dials finish and are recorded, the rest stay queued")
    func gracefulShutdown() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                await fake.ledger.scriptAll(Array(repeating: FakeResponse(status: 201, delayMilliseconds: 1_500), count: 100))
                _ = try await store.enqueue(try Fixture.destinations(40).map { try Fixture.request($0) })
                // A client timeout far above the 1.5 s answers: on a loaded machine a 5 s one could end a dial in doubt,
                // which this test is not about.
                try await TwilioClient.with(Fixture.twilio(baseURL, timeout: .seconds(30)), logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: Fixture.worker(concurrency: 4), logger: TestDatabase.logger)
                    try await testGracefulShutdown { trigger in
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await worker.run() }
                            while await fake.ledger.requests < 4 { try await Task.sleep(for: .milliseconds(20)) }
                            trigger.triggerGracefulShutdown()
                            try await group.waitForAll()
                        }
                    }
                }
                #expect(await fake.ledger.calls.count == 4)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'awaiting_outcome'") == 4)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'queued' AND attempt = 0") == 36)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'active'") == 0)
            }
        }
    }

    @Test("a job claimed but not yet dialed when shutdown begins is handed back with its attempt refunded")
    func releaseOnShutdown() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let id = try await store.enqueue([try Fixture.request("+14155556001")])[0].jobID
            try await TwilioClient.with(Fixture.twilio("http://127.0.0.1:9"), logger: TestDatabase.logger) { client in
                let configuration = Fixture.worker()
                let worker = DialWorker(store: store, twilio: client, configuration: configuration, logger: TestDatabase.logger)
                let call = try #require(try await store.claim(limit: 1, worker: configuration.workerID, lease: .seconds(30)).first)
                let recorder = OutcomeRecorder(store: store, worker: configuration.workerID, logger: TestDatabase.logger)
                await testGracefulShutdown { trigger in
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask { await recorder.run() }
                        trigger.triggerGracefulShutdown()
                        await worker.process(call, recorder: recorder)
                        await recorder.finish()
                    }
                }
                #expect(worker.stats.snapshot.released == 1)
            }
            let job = try #require(try await store.job(id))
            #expect(job.state == .queued && job.attempt == 0)
            #expect(try await store.attempts(jobID: id).first?.kind == "release")
        }
    }

    @Test("an idle worker is woken by the enqueue's NOTIFY, long before its poll")
    func notifyWakesWorker() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                var configuration = Fixture.worker()
                configuration.pollInterval = .seconds(600)
                try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                    let worker = DialWorker(store: store, twilio: client, configuration: configuration, logger: TestDatabase.logger)
                    try await testGracefulShutdown { trigger in
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask { try await worker.run() }
                            // Let the worker find the queue empty and start listening.
                            while worker.stats.snapshot.claimed == 0, try await store.scalar("SELECT count(*)::bigint FROM pg_stat_activity WHERE query LIKE 'LISTEN%'") == 0 {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            let id = try await store.enqueue([try Fixture.request("+14155557001")])[0].jobID
                            var state = JobState.queued
                            for _ in 0..<300 where state != .awaitingOutcome {
                                try await Task.sleep(for: .milliseconds(100))
                                state = try await store.job(id)?.state ?? .queued
                            }
                            #expect(state == .awaitingOutcome)
                            trigger.triggerGracefulShutdown()
                            try await group.waitForAll()
                        }
                    }
                }
            }
        }
    }
}
