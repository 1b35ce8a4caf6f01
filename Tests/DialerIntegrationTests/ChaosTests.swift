import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// Worker processes killed with SIGKILL again and again while Twilio fails in every ambiguous way (5xx or a timeout
/// after creating the call, connection resets before and after creating it): no job is lost and none is dialed twice.
/// Bounded: a few hundred jobs, about half a minute.
@Suite("Chaos: SIGKILLed workers, ambiguous Twilio failures, shared pacing", .serialized)
struct ChaosTests {
    @Test("SIGKILL storm with 5xx or timeouts after create, connection resets and 429s: every job final, each dialed exactly once, pacing held")
    func sigkillStorm() async throws {
        let fake = Fixture.fake()
        // ops/chaos runs this at a larger size through these variables; CI uses the defaults (about half a minute).
        let env = ProcessInfo.processInfo.environment
        let jobs = env["DIALER_CHAOS_JOBS"].flatMap(Int.init) ?? 400
        let killFor = Duration.seconds(env["DIALER_CHAOS_SECONDS"].flatMap(Int.init) ?? 20)
        let cps = 25.0
        let deadline = killFor + .seconds(Int(Double(jobs) / cps * 1.5) + 90)
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                try await store.setCallsPerSecond(subaccount: Fixture.subaccount, cps)
                let destinations = Fixture.destinations(jobs, start: 500_000)
                for (i, to) in destinations.enumerated() {
                    switch i % 20 {
                    case 0, 1: await fake.ledger.script(to: to, [FakeResponse(status: 500, createFirst: true)])
                    case 2: await fake.ledger.script(to: to, [FakeResponse(status: 201, delayMilliseconds: 1_500, createFirst: true)])
                    case 3: await fake.ledger.script(to: to, [FakeResponse(status: 429, retryAfter: "1")])
                    case 4: await fake.ledger.script(to: to, [FakeResponse(status: 503)])
                    case 5: await fake.ledger.script(to: to, [.connectionReset(createFirst: true)])
                    case 6: await fake.ledger.script(to: to, [.connectionReset(createFirst: false)])
                    default: break
                    }
                }
                let ids = try await store.enqueue(try destinations.map { try Fixture.request($0, maxAttempts: 10) }).map(\.jobID)
                var workerEnv = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                workerEnv.merge([
                    "DIALER_CALLS_PER_SECOND": "1000", "DIALER_LEASE_SECONDS": "7", "DIALER_TWILIO_TIMEOUT_SECONDS": "1",
                    "DIALER_RECOVERY_SECONDS": "1", "DIALER_RECONCILE_DELAY_SECONDS": "2", "DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS": "0", "DIALER_BACKOFF_BASE_MS": "200",
                    "DIALER_CONCURRENCY": "8", "DIALER_POLL_MS": "200", "DIALER_LOG_LEVEL": "error",
                ]) { $1 }
                var workers = try (0..<3).map { _ in try TestProcess.start(["run"], environment: workerEnv) }
                var kills = 0
                let start = ContinuousClock.now
                var finalCount = 0
                while ContinuousClock.now - start < deadline {
                    try await Task.sleep(for: .milliseconds(1_200))
                    if ContinuousClock.now - start < killFor {
                        let victim = Int.random(in: 0..<workers.count)
                        workers[victim].kill()
                        _ = await workers[victim].exitStatus()
                        kills += 1
                        workers[victim] = try TestProcess.start(["run"], environment: workerEnv)
                    }
                    finalCount = try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state IN ('awaiting_outcome', 'failed')")
                    if finalCount == jobs { break }
                }
                for worker in workers { worker.terminate() }
                for worker in workers { #expect(await worker.exitStatus() == 0) }
                let calls = await fake.ledger.calls
                let perDestination = Dictionary(grouping: calls, by: \.to)
                let duplicates = perDestination.values.filter { $0.count > 1 }.count
                let dialed = try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'awaiting_outcome'")
                let lost = jobs - finalCount
                print("chaos: jobs=\(jobs) kills=\(kills) dials=\(calls.count) duplicates=\(duplicates) lost=\(lost)")
                #expect(kills >= 10)
                #expect(finalCount == jobs, "jobs not final: \(jobs - finalCount)")
                #expect(duplicates == 0)
                #expect(dialed == jobs)
                #expect(calls.count == jobs)
                // The resets did happen: attempts that got no HTTP answer at all, and did not time out.
                let resets = try await store.scalar("""
                    SELECT count(*)::bigint FROM call_attempts
                    WHERE kind = 'dial' AND http_status IS NULL AND error->'details'->>'transport' IN ('connection_reset', 'connection_closed')
                    """)
                #expect(resets > 0)
                // Every dialed job carries the SID of the one call the fake created for its destination.
                for id in ids.prefix(50) {
                    let job = try #require(try await store.job(id))
                    #expect(perDestination[job.destination]?.first?.sid == job.callSID)
                }
                // Pacing: no one-second window of the ledger holds more calls than the subaccount's calls per second.
                let times = calls.map(\.createdAt.timeIntervalSince1970).sorted()
                var worst = 0
                var lower = 0
                for upper in times.indices {
                    while times[upper] - times[lower] >= 1 { lower += 1 }
                    worst = max(worst, upper - lower + 1)
                }
                #expect(worst <= Int(cps), "a one-second window held \(worst) calls")
            }
        }
    }
}

@Suite("Faults: Twilio refusing connections")
struct TwilioOutageTests {
    @Test("while Twilio refuses connections jobs back off without being dialed twice, and all finish once it returns")
    func refusedThenBack() async throws {
        // Find a free port, then keep it closed for a while.
        let port = try await Fixture.fake().withRunning { url in Int(url.split(separator: ":").last!)! }
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let destinations = Fixture.destinations(60, start: 700_000)
            _ = try await store.enqueue(try destinations.map { try Fixture.request($0, maxAttempts: 10) })
            let fake = Fixture.fake { $0.port = port }
            var tuned = Fixture.worker(concurrency: 8, backoffBase: .milliseconds(300))
            tuned.retryPolicy.backoff.cap = .seconds(1)
            let configuration = tuned
            let baseURL = "http://127.0.0.1:\(port)"
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), worker: configuration, wait: .seconds(30))
                }
                // Twilio is down for at least two seconds, and until attempts have been refused (before sending) and backed off.
                try await Task.sleep(for: .seconds(2))
                var refused = 0
                for _ in 0..<100 where refused == 0 {
                    refused = try await store.scalar("SELECT count(*)::bigint FROM call_attempts WHERE outcome = 'retryable' AND NOT possibly_dialed")
                    if refused == 0 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(refused > 0)
                group.addTask { try await fake.run() }
                try await group.next()
                group.cancelAll()
            }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'awaiting_outcome'") == 60)
            let calls = await fake.ledger.calls
            #expect(calls.count == 60)
            #expect(Set(calls.map(\.to)).count == 60)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_attempts WHERE possibly_dialed") == 0)
        }
    }
}
