import AsyncHTTPClient
import DialerCore
import FakeTwilio
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The fake refuses what Twilio refuses (twilio.md sections 2.2, 4 and 6): accounts the credentials do not reach,
/// callers an account does not own, in Twilio's validation order, and the magic numbers only with test credentials.
@Suite("Fake Twilio: accounts, numbers, validation order, test credentials")
struct FakeAccountsTests {
    static let stranger = "AC" + String(repeating: "7", count: 32)

    struct Answer {
        let status: Int
        let body: JSONValue?
        var code: Int? { body?["code"]?.intValue }
        var message: String? { body?["message"]?.stringValue }
    }

    static func send(_ url: String, method: HTTPMethod = .POST, fields: [(String, String)] = [], user: String = Fixture.username,
                     password: String = Fixture.password) async throws -> Answer
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Answer(status: Int(response.status.code), body: JSONValue.parse(text))
    }

    /// Create Call on `account` with the usual fields, overridden or removed (value nil) by `changes`.
    static func create(_ baseURL: String, account: String = Fixture.subaccount, _ changes: [String: String?] = [:], user: String = Fixture.username,
                       password: String = Fixture.password) async throws -> Answer
    {
        var fields: [String: String] = ["To": "+14155557501", "From": Fixture.caller, "Url": "http://127.0.0.1:9/agent"]
        for (name, value) in changes { fields[name] = value }
        let form = fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return try await send("\(baseURL)/2010-04-01/Accounts/\(account)/Calls.json", fields: form, user: user, password: password)
    }

    @Test("an account the credentials do not reach is 404/20404, a caller the account does not own 400/21210; POST /_fake/accounts adds both")
    func accountsAndNumbers() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let unknown = try await Self.create(baseURL, account: Self.stranger)
            #expect(unknown.status == 404 && unknown.code == 20404)
            #expect(try await Self.send("\(baseURL)/2010-04-01/Accounts/\(Self.stranger)/Calls.json", method: .GET).code == 20404)
            let notOwned = try await Self.create(baseURL, ["From": "+14155550999"])
            #expect(notOwned.status == 400 && notOwned.code == 21210)
            #expect(notOwned.message == "The source phone number provided, +14155550999, is not yet verified for your account. "
                + "You may only make calls from phone numbers that you've verified or purchased from Twilio.")
            // Another account's number is not this one's.
            var request = HTTPClientRequest(url: baseURL + "/_fake/accounts")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"sid": "\#(Self.stranger)", "numbers": ["+14155550999"]}"#))
            #expect(try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout).status == .ok)
            #expect(try await Self.create(baseURL, account: Self.stranger, ["From": "+14155550999"]).status == 201)
            #expect(try await Self.create(baseURL, ["From": "+14155550999"]).code == 21210)
            #expect(try await Self.create(baseURL, account: Self.stranger).code == 21210)
            #expect(await fake.ledger.calls.map(\.accountSID) == [Self.stranger])
        }
    }

    @Test("each fault is reported in Twilio's order: auth, account, To, From, Url, From's format, From's owner, To's format")
    func validationOrder() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let cases: [(String, [String: String?], String, Int)] = [
                (Self.stranger, ["To": nil], Fixture.password + "x", 20003),
                (Self.stranger, ["To": nil], Fixture.password, 20404),
                (Fixture.subaccount, ["To": nil, "From": nil, "Url": nil], Fixture.password, 21201),
                (Fixture.subaccount, ["From": nil, "Url": nil], Fixture.password, 21213),
                (Fixture.subaccount, ["Url": nil, "From": "+0123"], Fixture.password, 21205),
                (Fixture.subaccount, ["From": "+0123", "To": "12345"], Fixture.password, 21212),
                (Fixture.subaccount, ["From": "+14155550999", "To": "12345"], Fixture.password, 21210),
                (Fixture.subaccount, ["To": "12345"], Fixture.password, 21211),
            ]
            for (account, changes, password, code) in cases {
                let answer = try await Self.create(baseURL, account: account, changes, password: password)
                #expect(answer.code == code, "\(changes): \(String(describing: answer.body))")
                #expect(answer.status == (code == 20003 ? 401 : code == 20404 ? 404 : 400))
            }
            // With the platform's credentials the magic numbers are ordinary numbers: a call is placed, and +15005550001
            // as From is simply not the account's number.
            #expect(try await Self.create(baseURL, ["To": "+15005550001"]).status == 201)
            #expect(try await Self.create(baseURL, ["From": "+15005550001"]).code == 21210)
            #expect(await fake.ledger.calls.map(\.to) == ["+15005550001"])
        }
    }

    @Test("test credentials: only +15005550006 calls, the magic numbers give their codes, nobody is called back, and reads are 403/20008")
    func testCredentials() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            func test(_ changes: [String: String?], account: String = Fixture.testAccount) async throws -> Answer {
                var changes = changes
                if changes["From"] == nil { changes["From"] = "+15005550006" }
                return try await Self.create(baseURL, account: account, changes, user: Fixture.testAccount, password: Fixture.testToken)
            }
            let accepted = try await test(["StatusCallback": "http://192.0.2.1/status"])
            #expect(accepted.status == 201 && accepted.body?["status"]?.stringValue == "queued")
            let sid = try #require(accepted.body?["sid"]?.stringValue)
            #expect(try await test(["From": "+15005550001"]).code == 21212)
            #expect(try await test(["From": Fixture.caller]).code == 21210)
            let magic = ["+15005550001": 21217, "+15005550002": 21214, "+15005550003": 21215, "+15005550004": 21216]
            for (to, code) in magic { #expect(try await test(["To": to]).code == code, "\(to)") }
            // The test credentials reach the test account only.
            #expect(try await test([:], account: Fixture.subaccount).code == 20404)
            // No call was placed and no callback even considered (a live call with the same callback URL records it as skipped).
            #expect(await fake.ledger.calls.isEmpty)
            #expect(await fake.ledger.testCalls.map(\.sid) == [sid])
            #expect(await fake.ledger.callbacks(callSID: sid).isEmpty)
            let live = try await Self.create(baseURL, ["StatusCallback": "http://192.0.2.1/status"])
            let liveSID = try #require(live.body?["sid"]?.stringValue)
            #expect(await fake.ledger.callbacks(callSID: liveSID).map(\.result) == [.skipped])
            // Reads with test credentials are refused, as at Twilio.
            let calls = "\(baseURL)/2010-04-01/Accounts/\(Fixture.testAccount)/Calls"
            for url in [calls + ".json", calls + "/\(sid).json"] {
                let read = try await Self.send(url, method: .GET, user: Fixture.testAccount, password: Fixture.testToken)
                #expect(read.status == 403 && read.code == 20008, "\(url)")
            }
        }
    }

    static let ownToken = "own-token-\(UInt32.random(in: 0...UInt32.max))"
    static let tokenAccount = "AC" + String(repeating: "5", count: 32)
    static let tokenCaller = "+14155550200"

    @Test("an account with its own auth token: its calls' callbacks are signed with it; without one, with the platform password")
    func accountTokenSignsCallbacks() async throws {
        let fake = Fixture.fake { $0.accounts.append(.init(sid: Self.tokenAccount, numbers: [Self.tokenCaller], authToken: Self.ownToken)) }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let added = "AC" + String(repeating: "6", count: 32), addedToken = "added-token-\(UInt32.random(in: 0...UInt32.max))"
                var request = HTTPClientRequest(url: baseURL + "/_fake/accounts")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: #"{"sid": "\#(added)", "numbers": ["+14155550300"], "auth_token": "\#(addedToken)"}"#))
                #expect(try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout).status == .ok)
                let cases = [(Fixture.subaccount, Fixture.caller, Fixture.password), (Self.tokenAccount, Self.tokenCaller, Self.ownToken),
                             (added, "+14155550300", addedToken)]
                for (i, (account, caller, _)) in cases.enumerated() {
                    let answer = try await Self.create(baseURL, account: account, ["From": caller, "StatusCallback": receiverURL + "/status?case=\(i)"])
                    #expect(answer.status == 201, "\(String(describing: answer.body))")
                }
                let received = try await StatusCallbackTests.waitFor(3, in: inbox)
                for (i, (account, _, token)) in cases.enumerated() {
                    let callback = try #require(received.first { $0.query("case") == String(i) })
                    #expect(callback.value("AccountSid") == account)
                    let signature = try #require(callback.signature)
                    #expect(TwilioSignature.isValid(signature: signature, url: callback.url, parameters: callback.parameters, authToken: token))
                    if token != Fixture.password {
                        #expect(!TwilioSignature.isValid(signature: signature, url: callback.url, parameters: callback.parameters, authToken: Fixture.password))
                    }
                }
            }
        }
    }

    @Test("GET /Accounts/{Sid}.json: the account resource with its auth token; unknown 404/20404; test credentials 403/20008; an account's own credentials reach it alone")
    func fetchAccount() async throws {
        let fake = Fixture.fake { $0.accounts.append(.init(sid: Self.tokenAccount, numbers: [Self.tokenCaller], authToken: Self.ownToken)) }
        try await fake.withRunning { baseURL in
            func url(_ sid: String) -> String { "\(baseURL)/2010-04-01/Accounts/\(sid).json" }
            let own = try await Self.send(url(Self.tokenAccount), method: .GET)
            #expect(own.status == 200)
            let body = try #require(own.body)
            #expect(body["sid"]?.stringValue == Self.tokenAccount && body["status"]?.stringValue == "active" && body["type"]?.stringValue == "Full")
            #expect(body["auth_token"]?.stringValue == Self.ownToken && body["owner_account_sid"]?.stringValue == Fixture.username)
            #expect(body["friendly_name"]?.stringValue == "Subaccount \(Self.tokenAccount)")
            #expect(body["uri"]?.stringValue == "/2010-04-01/Accounts/\(Self.tokenAccount).json")
            #expect(body["subresource_uris"]?["calls"]?.stringValue == "/2010-04-01/Accounts/\(Self.tokenAccount)/Calls.json")
            #expect(body["date_created"]?.stringValue.flatMap(StatusCallbackTests.rfc2822) != nil)
            // An account without a token of its own shows the password that signs its callbacks.
            #expect(try await Self.send(url(Fixture.subaccount), method: .GET).body?["auth_token"]?.stringValue == Fixture.password)

            let unknown = try await Self.send(url(Self.stranger), method: .GET)
            #expect(unknown.status == 404 && unknown.code == 20404)
            let test = try await Self.send(url(Fixture.testAccount), method: .GET, user: Fixture.testAccount, password: Fixture.testToken)
            #expect(test.status == 403 && test.code == 20008)
            #expect(try await Self.send(url(Self.tokenAccount), method: .GET, password: "wrong").status == 401)

            // The account's SID and token: its own resource and calls, nobody else's (401/20003, as Twilio answers).
            let mine = try await Self.send(url(Self.tokenAccount), method: .GET, user: Self.tokenAccount, password: Self.ownToken)
            #expect(mine.status == 200 && mine.body?["sid"]?.stringValue == Self.tokenAccount)
            let other = try await Self.send(url(Fixture.subaccount), method: .GET, user: Self.tokenAccount, password: Self.ownToken)
            #expect(other.status == 401 && other.code == 20003)
            let created = try await Self.create(baseURL, account: Self.tokenAccount, ["From": Self.tokenCaller], user: Self.tokenAccount,
                                                password: Self.ownToken)
            #expect(created.status == 201)
            #expect(try await Self.create(baseURL, ["From": Fixture.caller], user: Self.tokenAccount, password: Self.ownToken).code == 20003)
            #expect(try await Self.create(baseURL, account: Self.tokenAccount, ["From": Self.tokenCaller], user: Self.tokenAccount,
                                          password: Fixture.password).code == 20003)
        }
    }
}
