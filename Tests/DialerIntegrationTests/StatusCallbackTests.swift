import AsyncHTTPClient
import DialerCore
import FakeTwilio
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The fake's status callbacks (twilio.md section 5), received by a small Hummingbird server on loopback standing in
/// for the platform's webhook endpoint, and checked with DialerCore's signature validator.
@Suite("Fake Twilio: signed status callbacks")
struct StatusCallbackTests {
    struct Received: Sendable {
        let method: String
        /// The full URL the fake requested, as Twilio signs it.
        let url: String
        let signature: String?
        let idempotencyToken: String?
        let contentType: String?
        let parameters: [(String, String)]

        func value(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
        func query(_ name: String) -> String? {
            URLComponents(string: url)?.queryItems?.first { $0.name == name }?.value
        }
    }

    actor Inbox {
        private(set) var received: [Received] = []
        func add(_ callback: Received) { received.append(callback) }
    }

    /// Runs a webhook receiver on loopback for `body`, with its base URL and what it received.
    static func withReceiver<T: Sendable>(_ body: @Sendable (String, Inbox) async throws -> T) async throws -> T {
        let inbox = Inbox()
        let base = Mutex("")
        let router = Router()
        let record: @Sendable (Request) async throws -> Response = { request in
            let body = try await request.body.collect(upTo: 64 * 1024)
            let url = base.withLock { $0 } + request.uri.description
            await inbox.add(Received(
                method: request.method.rawValue, url: url, signature: request.headers[HTTPField.Name("X-Twilio-Signature")!],
                idempotencyToken: request.headers[HTTPField.Name("I-Twilio-Idempotency-Token")!], contentType: request.headers[.contentType],
                parameters: request.method == .post ? FormEncoding.decode(String(buffer: body)) : []))
            return Response(status: .ok)
        }
        router.post("/status") { request, _ in try await record(request) }
        router.get("/status") { request, _ in try await record(request) }
        return try await TestServer.withRunning({ onListening in
            Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                        onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: TestDatabase.logger)
        }) { url in
            base.withLock { $0 = url }
            return try await body(url, inbox)
        }
    }

    /// Waits (at most ten seconds) until `inbox` holds `count` callbacks.
    static func waitFor(_ count: Int, in inbox: Inbox) async throws -> [Received] {
        let deadline = ContinuousClock.now + .seconds(10)
        while await inbox.received.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let received = await inbox.received
        try #require(received.count == count, "expected \(count) callbacks, got \(received.count)")
        return received
    }

    @Test("a dial through the worker gets its callbacks in order, with Twilio's parameters, each validly signed")
    func workerCallbacks() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await Self.withReceiver { receiverURL, inbox in
                try await TestDatabase.withStore { store, _ in
                    try await Fixture.tenant(store)
                    let answered = "+14155559401", busy = "+14155559402", unanswered = "+14155559403"
                    await fake.ledger.scriptOutcome(to: answered, FakeCallOutcome(status: .completed, durationSeconds: 2))
                    await fake.ledger.scriptOutcome(to: busy, FakeCallOutcome(status: .busy))
                    await fake.ledger.scriptOutcome(to: unanswered, FakeCallOutcome(status: .noAnswer))
                    let ids = try await store.enqueue([answered, busy, unanswered].map { try Fixture.request($0) }).map(\.jobID)
                    var twilio = Fixture.twilio(baseURL)
                    twilio.statusCallbackURL = receiverURL + "/status"
                    try await Fixture.drain(store, twilio: twilio)

                    let received = try await Self.waitFor(4 + 2 + 3, in: inbox)
                    let expected: [Int64: [String]] = [
                        ids[0]: ["initiated", "ringing", "in-progress", "completed"], ids[1]: ["initiated", "busy"],
                        ids[2]: ["initiated", "ringing", "no-answer"],
                    ]
                    for (i, id) in ids.enumerated() {
                        let job = try #require(try await store.job(id))
                        let mine = received.filter { $0.query("job") == String(id) }
                        #expect(mine.compactMap { $0.value("CallStatus") } == expected[id])
                        #expect(mine.compactMap { $0.value("SequenceNumber") } == mine.indices.map { String($0) })
                        for callback in mine {
                            #expect(callback.method == "POST" && callback.contentType == "application/x-www-form-urlencoded")
                            #expect(callback.query("attempt") == "1")
                            #expect(callback.value("CallSid") == job.callSID)
                            #expect(callback.value("AccountSid") == Fixture.subaccount)
                            #expect(callback.value("To") == job.destination && callback.value("Called") == job.destination)
                            #expect(callback.value("From") == Fixture.caller && callback.value("Caller") == Fixture.caller)
                            #expect(callback.value("Direction") == "outbound-api" && callback.value("ApiVersion") == "2010-04-01")
                            #expect(callback.value("CallbackSource") == "call-progress-events")
                            #expect(callback.value("Timestamp").flatMap(Self.rfc2822) != nil)
                            let signature = try #require(callback.signature)
                            #expect(TwilioSignature.isValid(signature: signature, url: callback.url, parameters: callback.parameters,
                                                            authToken: Fixture.password))
                        }
                        let final = try #require(mine.last)
                        #expect(final.value("SipResponseCode") == ["200", "486", "487"][i])
                        #expect(final.value("CallDuration") == ["2", "0", "0"][i])
                        #expect(final.value("Duration") == ["1", "0", "0"][i])
                        #expect(mine.dropLast().allSatisfy { $0.value("SipResponseCode") == nil && $0.value("CallDuration") == nil })
                    }
                    // The callbacks agree with the Call resource's timeline (one clock): Fetch Call, once the call ended, has the
                    // initiated callback's instant as start_time and the final one's as end_time, status and duration.
                    for id in ids {
                        let sid = try #require(try await store.job(id)?.callSID)
                        let resource = try await Self.fetchCall(baseURL, sid: sid)
                        let mine = received.filter { $0.query("job") == String(id) }
                        #expect(resource["start_time"]?.stringValue == mine.first?.value("Timestamp"))
                        #expect(resource["end_time"]?.stringValue == mine.last?.value("Timestamp"))
                        #expect(resource["status"]?.stringValue == mine.last?.value("CallStatus"))
                        #expect(resource["duration"]?.stringValue == mine.last?.value("CallDuration"))
                    }
                    // Every callback carries its own idempotency token.
                    let tokens = received.compactMap(\.idempotencyToken)
                    #expect(tokens.count == received.count && Set(tokens).count == tokens.count)
                    // The fake's ledger agrees: every callback delivered and answered 200.
                    let ledger = await fake.ledger.callbacks
                    #expect(ledger.count == received.count && ledger.allSatisfy { $0.result == .delivered && $0.httpStatus == 200 })

                    // A forged callback does not validate: one tampered parameter, or the wrong auth token.
                    let sample = try #require(received.last)
                    let signature = try #require(sample.signature)
                    let tampered = sample.parameters.map { $0.0 == "CallStatus" ? ($0.0, $0.1 == "busy" ? "completed" : "busy") : $0 }
                    #expect(tampered.map(\.1) != sample.parameters.map(\.1))
                    #expect(!TwilioSignature.isValid(signature: signature, url: sample.url, parameters: tampered, authToken: Fixture.password))
                    #expect(!TwilioSignature.isValid(signature: signature, url: sample.url, parameters: sample.parameters,
                                                     authToken: Fixture.password + "x"))
                    #expect(!TwilioSignature.isValid(signature: signature, url: sample.url.replacingOccurrences(of: "attempt=1", with: "attempt=2"),
                                                     parameters: sample.parameters, authToken: Fixture.password))
                }
            }
        }
    }

    @Test("no StatusCallbackEvent means the completed callback only; StatusCallbackMethod=GET signs the URL with the parameters in it")
    func defaultsAndGET() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await Self.withReceiver { receiverURL, inbox in
                await fake.ledger.scriptOutcome(to: "+14155559502", FakeCallOutcome(status: .failed, sipResponseCode: 503))
                let first = try await Self.createCall(baseURL, [("To", "+14155559501"), ("StatusCallback", receiverURL + "/status?tag=post")])
                let second = try await Self.createCall(baseURL, [
                    ("To", "+14155559502"), ("StatusCallback", receiverURL + "/status?tag=get"), ("StatusCallbackMethod", "GET"),
                    ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "completed"),
                ])
                let received = try await Self.waitFor(3, in: inbox)
                let post = received.filter { $0.query("tag") == "post" }
                #expect(post.map { $0.value("CallStatus") } == ["completed"])
                #expect(post.first?.value("SequenceNumber") == "0" && post.first?.value("CallSid") == first)
                let get = received.filter { $0.query("tag") == "get" }
                #expect(get.map(\.method) == ["GET", "GET"])
                #expect(get.map { $0.query("CallStatus") } == ["initiated", "failed"])
                #expect(get.last?.query("SipResponseCode") == "503" && get.last?.query("CallSid") == second)
                for callback in received {
                    let signature = try #require(callback.signature)
                    #expect(TwilioSignature.isValid(signature: signature, url: callback.url, parameters: callback.parameters,
                                                    authToken: Fixture.password))
                }
            }
        }
    }

    @Test("a callback URL off this machine is never contacted; the ledger records it as skipped")
    func nonLoopbackSkipped() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let sid = try await Self.createCall(baseURL, [("To", "+14155559601"), ("StatusCallback", "http://192.0.2.1/status")])
            let callbacks = await fake.ledger.callbacks(callSID: sid)
            #expect(callbacks.map(\.callStatus) == ["completed"])
            #expect(callbacks.allSatisfy { $0.result == .skipped && $0.httpStatus == nil })
        }
    }

    /// Creates a call with extra form fields and returns its SID.
    static func createCall(_ baseURL: String, _ fields: [(String, String)]) async throws -> String {
        var request = HTTPClientRequest(url: "\(baseURL)/2010-04-01/Accounts/\(Fixture.subaccount)/Calls.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(Fixture.username):\(Fixture.password)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields + [("From", Fixture.caller), ("Url", "http://127.0.0.1:9/agent")])))
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        let body = try await response.body.collect(upTo: 64 * 1024)
        try #require(response.status.code == 201, "\(String(buffer: body))")
        return try #require(JSONValue.parse(String(buffer: body))?["sid"]?.stringValue)
    }

    /// `GET .../Calls/{sid}.json` with the platform credentials.
    static func fetchCall(_ baseURL: String, sid: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: "\(baseURL)/2010-04-01/Accounts/\(Fixture.subaccount)/Calls/\(sid).json")
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(Fixture.username):\(Fixture.password)".utf8).base64EncodedString())
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        let body = String(buffer: try await response.body.collect(upTo: 64 * 1024))
        try #require(response.status.code == 200, "\(body)")
        return try #require(JSONValue.parse(body))
    }

    static func rfc2822(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: text)
    }
}
