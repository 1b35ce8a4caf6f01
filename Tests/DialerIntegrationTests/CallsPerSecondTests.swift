import AsyncHTTPClient
import DialerCore
import FakeTwilio
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The fake's per-account calls-per-second queue (twilio.md section 2.4): above the rate Twilio still answers 201, and
/// `queue_time` says how long the call waits before it is placed.
@Suite("Fake Twilio: calls-per-second queueing and queue_time")
struct CallsPerSecondTests {
    static let otherAccount = "AC" + String(repeating: "1", count: 32)

    static func fake(callsPerSecond: Double) -> FakeTwilio {
        Fixture.fake {
            $0.callsPerSecond = callsPerSecond
            $0.accounts.append(.init(sid: otherAccount, numbers: [Fixture.caller]))
        }
    }

    /// Creates a call through the production client and returns its SID and `queue_time`.
    static func create(_ client: TwilioClient, to: String, account: String = Fixture.subaccount) async throws -> (sid: String, queueTime: Int) {
        let outcome = await client.createCall(subaccountSID: account, to: to, from: Fixture.caller, jobID: 1, attempt: 1, logger: TestDatabase.logger)
        guard case .dialed(let sid, let queueTime) = outcome else {
            Issue.record("expected a 201, got \(outcome)")
            throw CancellationError()
        }
        return (sid, try #require(queueTime))
    }

    @Test("20 creates in a row at 1 call per second (Twilio's default) are all accepted, each queued a second behind the one before")
    func burstIsQueued() async throws {
        let fake = Self.fake(callsPerSecond: 1)
        try await fake.withRunning { baseURL in
            try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                let start = ContinuousClock.now
                var answers: [(sid: String, queueTime: Int)] = []
                // When each request was sent and answered, in ms from the start: the fake placed call i at its arrival
                // (somewhere in that span) plus its queue_time.
                var spans: [(sent: Int, answered: Int)] = []
                func ms() -> Int { Int((ContinuousClock.now - start) / .milliseconds(1)) }
                for to in Fixture.destinations(20, start: 800_000) {
                    let sent = ms()
                    answers.append(try await Self.create(client, to: to))
                    spans.append((sent, ms() + 1))
                }
                let elapsed = ms() + 1
                let queueTimes = answers.map(\.queueTime)
                #expect(queueTimes.first == 0)
                // Placed a second apart at the least, however slowly the requests came (a loaded machine may send one
                // more than a second after the one before; queue_time then falls, and the spacing still holds).
                for i in 1..<answers.count {
                    let latest = spans[i].answered + queueTimes[i], earliestBefore = spans[i - 1].sent + queueTimes[i - 1]
                    #expect(latest - earliestBefore >= 1000, "calls \(i - 1) and \(i) placed less than a second apart: \(queueTimes)")
                }
                #expect(queueTimes.last! > queueTimes[1], "a burst at 1 call per second queues its later calls: \(queueTimes)")
                // Call i is placed i seconds after the first; it arrived at most `elapsed` ms after it.
                for (i, queueTime) in queueTimes.enumerated() {
                    #expect(queueTime <= i * 1000 && queueTime + elapsed >= i * 1000, "call \(i): queue_time \(queueTime)")
                }
                // The ledger records the same wait for each call; the account's queue does not delay another account.
                let ledger = await fake.ledger.calls
                #expect(ledger.map(\.sid) == answers.map(\.sid))
                #expect(ledger.map(\.queueTime) == queueTimes)
                #expect(try await Self.create(client, to: "+14155559901", account: Self.otherAccount).queueTime == 0)
            }
        }
    }

    @Test("creates paced slower than the account's calls per second never wait: queue_time is 0")
    func pacedIsNotQueued() async throws {
        let fake = Self.fake(callsPerSecond: 5)
        try await fake.withRunning { baseURL in
            try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                var queueTimes: [Int] = []
                for to in Fixture.destinations(4, start: 810_000) {
                    queueTimes.append(try await Self.create(client, to: to).queueTime)
                    try await Task.sleep(for: .milliseconds(350))
                }
                #expect(queueTimes == [0, 0, 0, 0])
            }
        }
    }

    @Test("the default is unlimited, and POST /_fake/config changes the rate while the fake runs")
    func configEndpoint() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                let destinations = Fixture.destinations(6, start: 820_000)
                #expect(try await Self.create(client, to: destinations[0]).queueTime == 0)
                #expect(try await Self.create(client, to: destinations[1]).queueTime == 0)
                try await Self.configure(baseURL, #"{"calls_per_second": 0.5}"#)
                #expect(try await Self.create(client, to: destinations[2]).queueTime == 0)
                // Placed two seconds after the one before, which was created moments ago.
                #expect(try await Self.create(client, to: destinations[3]).queueTime > 1000)
                try await Self.configure(baseURL, #"{"calls_per_second": 0}"#)
                #expect(try await Self.create(client, to: destinations[4]).queueTime == 0)
                #expect(try await Self.create(client, to: destinations[5]).queueTime == 0)
            }
        }
    }

    static func configure(_ baseURL: String, _ json: String) async throws {
        var request = HTTPClientRequest(url: baseURL + "/_fake/config")
        request.method = .POST
        request.body = .bytes(.init(string: json))
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        #expect(response.status.code == 200)
    }

    @Test("a drain paced below the account's calls per second sees queue_time 0 on every dial; an unpaced one records the waits")
    func workerRecordsQueueTime() async throws {
        let fake = Self.fake(callsPerSecond: 20)
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                // 2 calls per second (less the pacer's headroom) against Twilio's 20: dials are over 500 ms apart where 50 ms
                // would do, a margin wide enough for a loaded machine's scheduling jitter.
                try await store.setCallsPerSecond(subaccount: Fixture.subaccount, 2)
                let paced = try await store.enqueue(try Fixture.destinations(6, start: 830_000).map { try Fixture.request($0) }).map(\.jobID)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                // The in-process fake stamps a call when its handler runs; with the whole suite sharing two cores a handler
                // can run a few hundred ms late and land next to the following one. So "on time" here means at most a
                // couple of Twilio's 50 ms slots of queueing, never the seconds of an unpaced burst (asserted below).
                for id in paced {
                    let dial = try #require(try await store.attempts(jobID: id).first { $0.kind == "dial" })
                    #expect(dial.outcome == "dialed")
                    #expect((dial.detail?["queue_time_ms"]?.intValue ?? -1) >= 0 && (dial.detail?["queue_time_ms"]?.intValue ?? .max) <= 100)
                }
                #expect(await fake.ledger.calls.allSatisfy { $0.queueTime <= 100 })

                // Another tenant's subaccount at the worker's default rate bursts past Twilio's rate, now 1 per second: the
                // calls are still placed, and each attempt keeps the wait Twilio announced.
                await fake.ledger.setCallsPerSecond(1)
                try await store.upsertTenant(id: "burst", verification: .approved, subaccountSID: Self.otherAccount)
                try await store.upsertPhoneNumber(tenantID: "burst", e164: Fixture.caller, selected: true)
                let burst = try await store.enqueue(try Fixture.destinations(8, start: 840_000).map { try Fixture.request($0, tenant: "burst") })
                    .map(\.jobID)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                var recorded: [Int] = []
                for id in burst {
                    let job = try #require(try await store.job(id))
                    #expect(job.state == .awaitingOutcome)
                    let dial = try #require(try await store.attempts(jobID: id).first { $0.kind == "dial" })
                    guard case .number(let wait) = dial.detail?["queue_time_ms"] else {
                        Issue.record("no queue_time_ms in \(String(describing: dial.detail))")
                        continue
                    }
                    recorded.append(Int(wait))
                    #expect(await fake.ledger.calls(to: job.destination).first?.queueTime == Int(wait))
                }
                // 8 calls at once at 1 per second: the last waits 7 s less the time the 8 took to send.
                #expect(recorded.count == 8 && recorded.max() ?? 0 >= 4000, "recorded queue times: \(recorded)")
            }
        }
    }
}
