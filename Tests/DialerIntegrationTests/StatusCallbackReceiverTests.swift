import AsyncHTTPClient
import DialerCore
import DialerOps
import FakeTwilio
import Foundation
import Metrics
import NIOCore
import NIOHTTP1
import PostgresNIO
import Prometheus
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `dialer serve`'s status-callback endpoint over real HTTP and PostgreSQL: signatures, duplicates, order, storage.
@Suite("Status callbacks received by dialer serve")
struct StatusCallbackReceiverTests {
    static let token = Fixture.password
    static let sid = "CA" + String(repeating: "ab", count: 16)

    /// A free loopback port (the callback URL must be known before the server starts: it is what Twilio signs).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CancellationError() }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a public server whose callbacks are configured at `callbackURL`, on `port` (0: any).
    static func withServer<T: Sendable>(_ store: JobStore, callbackURL: String, port: Int = 0, metrics: DialerMetrics = DialerMetrics(),
                                        keys: SigningKeys? = nil, agentToken: Secret? = nil, _ body: @Sendable (String) async throws -> T) async throws -> T
    {
        let settler = OutcomeSettler(store: store, policies: PolicyBook(store: store, logger: TestDatabase.logger), metrics: metrics,
                                     actor: "test-serve", logger: TestDatabase.logger)
        let writer = CallbackWriter(store: store, settler: settler, logger: TestDatabase.logger)
        let server = PublicServer(host: "127.0.0.1", port: port, store: store, writer: writer, callbackURL: callbackURL,
                                  keys: keys ?? SigningKeys(platformToken: Secret(token), store: store, twilio: nil, logger: TestDatabase.logger),
                                  agentToken: agentToken, metrics: metrics,
                                  readiness: Readiness(store: store, stats: WorkerStats()), logger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await writer.run() }
            defer { group.cancelAll() }
            return try await TestServer.withRunning({ server.application(onListening: $0) }, body)
        }
    }

    /// POSTs a form to `url`, signed for `signedURL` (or with `signature` as given), and returns the status and body.
    static func post(_ url: String, fields: [(String, String)], signedURL: String?, signature: String? = nil) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let signature {
            request.headers.add(name: "X-Twilio-Signature", value: signature)
        } else if let signedURL {
            request.headers.add(name: "X-Twilio-Signature", value: TwilioSignature.signature(url: signedURL, parameters: fields, authToken: token))
        }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 16)))
    }

    static func fields(_ status: String, sequence: Int, sip: Int? = nil, duration: Int? = nil, answeredBy: String? = nil) -> [(String, String)] {
        var fields = [("AccountSid", Fixture.subaccount), ("CallSid", sid), ("CallStatus", status), ("SequenceNumber", "\(sequence)"),
                      ("Timestamp", "Wed, 02 Dec 2026 18:00:0\(sequence) +0000"), ("To", "+14155552123"), ("From", Fixture.caller)]
        if let sip { fields.append(("SipResponseCode", "\(sip)")) }
        if let duration { fields.append(("CallDuration", "\(duration)")) }
        if let answeredBy { fields.append(("AnsweredBy", answeredBy)) }
        return fields
    }

    @Test("signatures are checked against the configured public URL: a good one is stored; bad, missing or signed for the Host's URL is 403 and stores nothing")
    func signatures() async throws {
        try await TestDatabase.withStore { store, _ in
            // The public URL Twilio is given is not the address the process listens on (a load balancer is in between).
            let publicURL = "https://dialer.example.com/twilio/status"
            let registry = PrometheusCollectorRegistry()
            let metrics = DialerMetrics(factory: PrometheusMetrics.factory(registry))
            try await Self.withServer(store, callbackURL: publicURL, metrics: metrics) { base in
                let target = base + "/twilio/status?job=77&attempt=1"
                let ringing = Self.fields("ringing", sequence: 1)
                let (wrongURL, wrongBody) = try await Self.post(target, fields: ringing, signedURL: target)
                #expect(wrongURL == 403 && wrongBody.contains(#""error":"invalid_signature""#))
                let (missing, _) = try await Self.post(target, fields: ringing, signedURL: nil)
                #expect(missing == 403)
                let (bad, _) = try await Self.post(target, fields: ringing, signedURL: nil, signature: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                #expect(bad == 403)
                // Signed with another token: refused too.
                let forged = TwilioSignature.signature(url: publicURL + "?job=77&attempt=1", parameters: ringing, authToken: "not-the-token")
                #expect(try await Self.post(target, fields: ringing, signedURL: nil, signature: forged).0 == 403)
                #expect(try await store.callOutcome(callSID: Self.sid) == nil)

                let (good, _) = try await Self.post(target, fields: ringing, signedURL: publicURL + "?job=77&attempt=1")
                #expect(good == 204)
                let outcome = try #require(try await store.callOutcome(callSID: Self.sid))
                #expect(outcome.status == .ringing && outcome.events == 1 && outcome.attempt == 1)
                // Job 77 is not in this database: kept all the same, with the job its signed URL named (no job moves).
                #expect(outcome.jobID == 77)

                // A signed callback with no CallStatus is 400, and stores nothing more.
                let broken = [("CallSid", Self.sid), ("SequenceNumber", "2")]
                #expect(try await Self.post(target, fields: broken, signedURL: publicURL + "?job=77&attempt=1").0 == 400)
                #expect(try await store.callOutcome(callSID: Self.sid)?.events == 1)
            }
            let text = Fixture.scrape(registry)
            #expect(text.contains(#"dialer_status_callbacks_total{result="bad_signature"} 4"#), "\(text)")
            #expect(text.contains(#"dialer_status_callbacks_total{result="stored"} 1"#))
            #expect(text.contains(#"dialer_status_callbacks_total{result="malformed"} 1"#))
        }
    }

    @Test("a repeated callback is stored once, and a late one never moves the call backwards")
    func duplicatesAndOrder() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let job = try await store.enqueue([try Fixture.request("+14155552123")])[0].jobID
            let publicURL = "https://dialer.example.com/twilio/status"
            try await Self.withServer(store, callbackURL: publicURL) { base in
                let query = "?job=\(job)&attempt=1"
                func send(_ fields: [(String, String)]) async throws -> Int {
                    try await Self.post(base + "/twilio/status" + query, fields: fields, signedURL: publicURL + query).0
                }
                #expect(try await send(Self.fields("busy", sequence: 2, sip: 486, duration: 0)) == 204)
                // Twilio's retry of the same callback, and the earlier events arriving late.
                #expect(try await send(Self.fields("busy", sequence: 2, sip: 486, duration: 0)) == 204)
                #expect(try await send(Self.fields("ringing", sequence: 1)) == 204)
                #expect(try await send(Self.fields("initiated", sequence: 0)) == 204)
                let outcome = try #require(try await store.callOutcome(callSID: Self.sid))
                #expect(outcome.status == .busy && outcome.ended)
                #expect(outcome.sipResponseCode == 486 && outcome.callDuration == 0)
                #expect(outcome.events == 3)
                #expect(outcome.jobID == job && outcome.attempt == 1)
            }
        }
    }

    @Test("a final callback that beats the worker's write of the 201 settles its job once the write lands, with no lookup and no wait for the sweeper")
    func finalBeforeTheWorkersWrite() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let job = try await store.enqueue([try Fixture.request("+14155552124")])[0].jobID
            #expect(try await store.claim(limit: 1, worker: "w1", lease: .seconds(30)).map(\.jobID) == [job])
            let publicURL = "https://dialer.example.com/twilio/status"
            try await Self.withServer(store, callbackURL: publicURL) { base in
                let query = "?job=\(job)&attempt=1"
                let busy = Self.fields("busy", sequence: 2, sip: 486, duration: 0)
                #expect(try await Self.post(base + "/twilio/status" + query, fields: busy, signedURL: publicURL + query).0 == 204)
                #expect(try await store.job(job)?.state == .active, "the worker has not written its 201 yet")
                let dialed = JobOutcome.dialed(JobRef(jobID: job, attempt: 1, maxAttempts: 4), callSID: Self.sid, outcomeDeadline: .seconds(600), detail: [:])
                #expect(try await store.record([dialed], worker: "w1") == [job])
                // dialer serve tries again 0.25 s, 1 s, 5 s and 20 s after the callback; the sweeper would wait 600 s.
                var state = try await store.job(job)?.state
                for _ in 0..<100 where state == .awaitingOutcome {
                    try await Task.sleep(for: .milliseconds(100))
                    state = try await store.job(job)?.state
                }
                #expect(state == .retrying)
                #expect(try await store.job(job)?.lastOutcome == "busy")
            }
        }
    }

    @Test("a burst of callbacks from a subaccount whose token is not known yet asks Twilio once, not once per callback")
    func signingKeysAskOnce() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let subaccountToken = "subaccount-token-\(UInt32.random(in: 0...UInt32.max))"
            let fake = Fixture.fake { configuration in
                configuration.accounts = [.init(sid: Fixture.subaccount, numbers: [Fixture.caller], authToken: subaccountToken)]
            }
            try await fake.withRunning { baseURL in
                try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                    let keys = SigningKeys(platformToken: Secret(Fixture.password), store: store, twilio: client, logger: TestDatabase.logger)
                    let tokens = await withTaskGroup(of: [String].self) { group in
                        for _ in 0..<64 { group.addTask { await keys.tokens(forAccount: Fixture.subaccount).map(\.value) } }
                        return await group.reduce(into: [[String]]()) { $0.append($1) }
                    }
                    #expect(tokens.count == 64)
                    #expect(tokens.allSatisfy { $0 == [Fixture.password, subaccountToken] })
                    #expect(await fake.ledger.accountReads == 1)
                    // An account that is no tenant's costs no request at all.
                    #expect(await keys.tokens(forAccount: "AC" + String(repeating: "9", count: 32)).map(\.value) == [Fixture.password])
                    #expect(await fake.ledger.accountReads == 1)
                }
            }
        }
    }

    @Test("a callback handed to a writer that has stopped is refused at once (503 for Twilio to retry), never left waiting")
    func stoppedWriterRefuses() async throws {
        try await TestDatabase.withStore { store, _ in
            let settler = OutcomeSettler(store: store, policies: PolicyBook(store: store, logger: TestDatabase.logger), metrics: DialerMetrics(),
                                         actor: "test-serve", logger: TestDatabase.logger)
            let writer = CallbackWriter(store: store, settler: settler, logger: TestDatabase.logger)
            let running = Task { try await writer.run() }
            let ringing = try StatusCallback(parameters: Self.fields("ringing", sequence: 1), query: [])
            #expect(try await writer.write(ringing), "stored while the writer runs")
            running.cancel()
            try? await running.value
            let late = try StatusCallback(parameters: Self.fields("in-progress", sequence: 2), query: [])
            // Before the fix this waited for ever (and, in dialer serve, so did the request and the process's shutdown):
            // the write runs in a task of its own, raced against a timer, and is never awaited if it hangs.
            let (answers, sink) = AsyncStream.makeStream(of: String.self)
            let writing = Task {
                do { sink.yield("stored: \(try await writer.write(late))") } catch { sink.yield("refused: \(error)") }
            }
            let timer = Task {
                try? await Task.sleep(for: .seconds(5))
                sink.yield("still waiting after 5 s")
            }
            var iterator = answers.makeAsyncIterator()
            let answer = await iterator.next() ?? ""
            timer.cancel()
            _ = writing
            #expect(answer.hasPrefix("refused") && answer.contains("upstream_unavailable"), "\(answer)")
            #expect(try await store.callOutcome(callSID: Self.sid)?.events == 1)
        }
    }

    @Test("a call dialed through the fake Twilio reports its life: every signed callback stored once, the outcome completed")
    func endToEnd() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let to = "+14155552124"
                await fake.ledger.scriptOutcome(to: to, FakeCallOutcome(status: .completed, durationSeconds: 1))
                let job = try await store.enqueue([try Fixture.request(to)])[0].jobID
                let port = try Self.freePort()
                let callbackURL = "http://127.0.0.1:\(port)/twilio/status"
                try await Self.withServer(store, callbackURL: callbackURL, port: port) { _ in
                    var twilio = Fixture.twilio(baseURL)
                    twilio.statusCallbackURL = callbackURL
                    try await Fixture.drain(store, twilio: twilio, wait: nil)
                    let sid = try #require(try await store.job(job)?.callSID)
                    // Wait for both sides: the rows stored, and the fake's record of the answers it got (it notes an answer
                    // after reading it, a moment after the server stored the row).
                    var outcome: CallOutcomeRecord?
                    var sent: [FakeCallback] = []
                    for _ in 0..<400 {
                        outcome = try await store.callOutcome(callSID: sid)
                        sent = await fake.ledger.callbacks(callSID: sid)
                        if outcome?.ended == true, outcome?.events == 4, sent.count == 4 { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(outcome?.status == .completed && outcome?.events == 4 && outcome?.jobID == job)
                    #expect(outcome?.callDuration == 1 && outcome?.sipResponseCode == 200)
                    #expect(outcome?.stirStatus == "A", "the caller ID's attestation, from the ringing and in-progress callbacks")
                    #expect(sent.count == 4 && sent.allSatisfy { $0.result == .delivered && $0.httpStatus == 204 }, "\(sent)")
                }
            }
        }
    }
}

/// `dialer serve` as deployed: its own process, probes, SIGTERM.
@Suite("dialer serve")
struct ServeCommandTests {
    @Test("dialer serve answers /healthz and /readyz on DIALER_SERVE_ADDRESS, stops on SIGTERM with 0, and refuses to start without DIALER_STATUS_CALLBACK_URL")
    func serveAsDeployed() async throws {
        try await TestDatabase.withStore { _, schema in
            var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            env["DIALER_SERVE_ADDRESS"] = "127.0.0.1:0"
            let missing = try await TestProcess.run(["serve"], environment: env)
            #expect(missing.status == 2 && missing.stderr.contains("DIALER_STATUS_CALLBACK_URL"), "\(missing.stderr)")

            env["DIALER_STATUS_CALLBACK_URL"] = "https://dialer.example.com/twilio/status"
            let (serve, base) = try await TestProcess.serve(environment: env)
            #expect(try await ObservabilityTests.get(base + "/healthz").status == 200)
            let ready = try await ObservabilityTests.get(base + "/readyz")
            #expect(ready.status == 200 && ready.body.contains(#""ready":true"#), "\(ready.body)")
            // The callback path is served (and refuses an unsigned request).
            var request = HTTPClientRequest(url: base + "/twilio/status")
            request.method = .POST
            #expect(Int(try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout).status.code) == 403)
            serve.terminate()
            #expect(await serve.exitStatus() == 0)
        }
    }

    /// Starts `dialer serve` and returns it with its base URL.
    static func startServe(_ env: [String: String]) async throws -> (TestProcess, String) {
        let serve = try TestProcess.start(["serve"], environment: env)
        let address = try await serve.waitForStderr { text in
            text.split(separator: "\n").lazy.compactMap { JSONValue.parse(String($0)) }
                .first { $0["message"] == "public server listening" }?["address"]?.stringValue
        }
        return (serve, "http://" + (try #require(address, "no address logged: \(serve.stderr)")))
    }

    @Test("dialer serve SIGKILLed while callbacks arrive loses none it answered 2xx; the ones it did not answer, retried, are stored once")
    func killedWhileReceiving() async throws {
        try await TestDatabase.withStore { store, schema in
            var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            env["DIALER_SERVE_ADDRESS"] = "127.0.0.1:0"
            env["DIALER_LOG_FORMAT"] = "json"
            let publicURL = "https://dialer.example.com/twilio/status"
            env["DIALER_STATUS_CALLBACK_URL"] = publicURL
            let (serve, base) = try await Self.startServe(env)
            let statuses = ["initiated", "ringing", "in-progress", "completed"]
            // 8 senders, each its own calls; every callback is (call, sequence): Twilio's identity of a callback.
            func callback(_ sender: Int, _ n: Int) -> [(String, String)] {
                let sid = "CA" + String(format: "%08x", sender) + String(format: "%024x", n / 4)
                return [("AccountSid", Fixture.subaccount), ("CallSid", sid), ("CallStatus", statuses[n % 4]), ("SequenceNumber", "\(n % 4)")]
            }
            let acknowledged = try await withThrowingTaskGroup(of: (Int, [Int: Bool]).self) { group in
                for sender in 0..<8 {
                    group.addTask {
                        var answered: [Int: Bool] = [:]
                        var failures = 0
                        for n in 0..<2_000 where failures < 3 {
                            let fields = callback(sender, n)
                            let result = try? await StatusCallbackReceiverTests.post(base + "/twilio/status", fields: fields, signedURL: publicURL)
                            answered[n] = result?.0 == 204
                            if result == nil { failures += 1 }
                        }
                        return (sender, answered)
                    }
                }
                // Kill it mid-stream, once a good part has been answered.
                for _ in 0..<2_400 {
                    if try await store.scalar("SELECT count(*)::bigint FROM call_events") >= 200 { break }
                    try await Task.sleep(for: .milliseconds(25))
                }
                serve.kill()
                var all = [[Int: Bool]](repeating: [:], count: 8)
                for try await (sender, answered) in group { all[sender] = answered }
                return all
            }
            _ = await serve.exitStatus()
            let answered = acknowledged.reduce(0) { $0 + $1.values.filter { $0 }.count }
            let unanswered = acknowledged.reduce(0) { $0 + $1.values.filter { !$0 }.count }
            #expect(answered >= 200 && unanswered > 0, "answered \(answered), unanswered \(unanswered)")
            // Every callback answered 204 is in the table.
            let stored = Set(try await Self.events(store))
            var lost: [String] = []
            for (sender, answers) in acknowledged.enumerated() {
                for (n, ok) in answers where ok {
                    let key = "\(callback(sender, n)[1].1)/\(n % 4)"
                    if !stored.contains(key) { lost.append("\(sender)/\(n) \(key)") }
                }
            }
            #expect(lost.isEmpty, "answered 204 but not stored: \(lost.count) of \(answered), e.g. \(lost.prefix(5))")
            // Twilio retries what got no answer: after a restart each is stored, and a repeat of an answered one is a no-op.
            let (again, againBase) = try await Self.startServe(env)
            for (sender, answers) in acknowledged.enumerated() {
                for (n, ok) in answers where !ok || n % 97 == 0 {
                    let (status, _) = try await StatusCallbackReceiverTests.post(againBase + "/twilio/status", fields: callback(sender, n), signedURL: publicURL)
                    #expect(status == 204)
                }
            }
            let total = acknowledged.reduce(0) { $0 + $1.count }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_events") == total)
            again.terminate()
            #expect(await again.exitStatus() == 0)
        }
    }

    static func events(_ store: JobStore) async throws -> [String] {
        var keys: [String] = []
        for try await (sid, sequence) in try await store.client.query("SELECT call_sid, sequence_number FROM call_events").decode((String, Int).self) {
            keys.append("\(sid)/\(sequence)")
        }
        return keys
    }
}
