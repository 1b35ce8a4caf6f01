import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A fake of Twilio's Calls API on loopback, for tests, the demo and the benchmark, as strict as Twilio documents it:
/// HTTP Basic auth, only the configured (sub)accounts and their own numbers as callers, validation in Twilio's order,
/// Twilio-shaped 201 and error bodies, the magic numbers only with the test credentials (twilio.md section 4), a
/// per-account calls-per-second queue that answers 201 with a `queue_time` instead of refusing, calls that leave the
/// queue and ring, answer and end on the fake's clock, Read Calls with Twilio's filters and paging, Fetch Call, Fetch
/// Account, and signed status callbacks to loopback URLs (section 5) on the same timeline. Create Call honours `Timeout`,
/// `TimeLimit`, `MachineDetection` and `AsyncAmd` (after-the-dial.md section 1.5) on a clock that can run faster than
/// Twilio's (`timeScale`); calls without a script draw realistic outcomes from a seeded mix, and callbacks can arrive
/// late, twice or never (section 1.4), each account's signed with its own auth token. It takes scripted faults per
/// destination (429 with or without Retry-After, 5xx, 5xx after creating the call, delays, connection resets). Every
/// call it creates goes into its ledger, the ground truth for how often a job was dialed.
///
/// Control endpoints (not Twilio's): `GET /_fake/calls`, `GET /_fake/callbacks`, `GET|POST /_fake/accounts`,
/// `POST /_fake/script`, `POST /_fake/config`, `POST /_fake/reset`.
public struct FakeTwilio: Sendable {
    public let configuration: Configuration
    public let ledger: FakeTwilioLedger
    let logger: Logger
    /// The configured accounts (numbers, token), for a lookup per request.
    let accounts: [String: Account]
    /// The `Authorization` headers of the platform and the test credentials, compared as they arrive.
    private let liveAuthorization: String
    private let testAuthorization: String?

    public init(configuration: Configuration, ledger: FakeTwilioLedger = FakeTwilioLedger(), logger: Logger = Logger(label: "fake-twilio")) {
        self.configuration = configuration
        self.ledger = ledger
        self.logger = logger
        self.accounts = configuration.accounts.reduce(into: [:]) { known, account in
            var merged = known[account.sid] ?? Account(sid: account.sid, numbers: [])
            merged.numbers.formUnion(account.numbers)
            merged.authToken = account.authToken ?? merged.authToken
            merged.friendlyName = account.friendlyName ?? merged.friendlyName
            known[account.sid] = merged
        }
        self.liveAuthorization = Self.basic(configuration.username, configuration.password)
        self.testAuthorization = configuration.testCredentials.map { Self.basic($0.accountSID, $0.authToken) }
    }

    /// Serves until cancelled or shut down gracefully. `onListening` receives the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(onListening: onListening).run()
    }

    /// The Hummingbird application, a `Service` for a `ServiceGroup`.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: FakeTwilioRequestContext.self)
        let callbacks = StatusCallbacks(ledger: ledger, faults: configuration.callbackFaults, seed: configuration.seed,
                                        concurrentCalls: configuration.callbackConcurrency, logger: logger)
        router.post("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.createCall(request, context: context, callbacks: callbacks)
        }
        router.get("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.listCalls(request, context: context)
        }
        router.get("/2010-04-01/Accounts/:account/Calls/{call}.json") { request, context in
            try await self.fetchCall(request, context: context)
        }
        router.get("/2010-04-01/Accounts/{account}.json") { request, context in
            try await self.fetchAccount(request, context: context)
        }
        router.get("/_fake/calls") { _, _ in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Self.response(200, String(decoding: try encoder.encode(await ledger.calls), as: UTF8.self))
        }
        router.get("/_fake/callbacks") { _, _ in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Self.response(200, String(decoding: try encoder.encode(await ledger.callbacks), as: UTF8.self))
        }
        router.post("/_fake/script") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let script = try? JSONDecoder().decode(FakeScript.self, from: Data(String(buffer: body).utf8)) else {
                return Self.response(
                    400, #"{"error":"expected {\"to\": \"+1...\", \"responses\": [{\"status\": 503}], \"outcome\": {\"status\": \"busy\"}}"}"#)
            }
            await ledger.apply(script)
            return Self.response(200, #"{"ok":true}"#)
        }
        router.post("/_fake/config") { request, _ in
            struct Settings: Decodable {
                var callsPerSecond: Double?
                enum CodingKeys: String, CodingKey { case callsPerSecond = "calls_per_second" }
            }
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let settings = try? JSONDecoder().decode(Settings.self, from: Data(String(buffer: body).utf8)) else {
                return Self.response(400, #"{"error":"expected {\"calls_per_second\": 5} (0: unlimited, null: as configured)"}"#)
            }
            await ledger.setCallsPerSecond(settings.callsPerSecond)
            return Self.response(200, #"{"ok":true}"#)
        }
        router.get("/_fake/accounts") { _, _ in
            let all = configuration.accounts + (await ledger.accountsAdded)
            return Self.response(200, String(decoding: try JSONEncoder().encode(all), as: UTF8.self))
        }
        router.post("/_fake/accounts") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let account = try? JSONDecoder().decode(Account.self, from: Data(String(buffer: body).utf8)),
                TwilioBodies.isAccountSID(account.sid), account.numbers.allSatisfy(TwilioBodies.isE164), account.authToken?.isEmpty != true
            else {
                return Self.response(400, #"{"error":"expected {\"sid\": \"AC...\", \"numbers\": [\"+1...\"], \"auth_token\": \"optional\"}"}"#)
            }
            await ledger.addAccount(account)
            return Self.response(200, #"{"ok":true}"#)
        }
        router.post("/_fake/reset") { _, _ in
            await ledger.reset()
            return Self.response(200, #"{"ok":true}"#)
        }
        router.get("/_fake/health") { _, _ in Self.response(200, #"{"ok":true}"#) }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "fake-twilio"),
            services: [callbacks],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    private static let requestIDHeader = HTTPField.Name("Twilio-Request-Id")!

    static func response(_ status: Int, _ json: String, headers extra: [(String, String)] = []) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[requestIDHeader] = "RQ" + TwilioBodies.hex(32)
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func error(_ status: Int, code: Int, _ message: String, headers: [(String, String)] = []) -> Response {
        response(status, TwilioBodies.json(TwilioBodies.error(code: code, message: message, status: status)), headers: headers)
    }

    /// Which credentials a request carries.
    enum Credential: Equatable {
        /// The platform's: they reach the configured accounts.
        case live
        /// The test account's: magic numbers, no calls placed, no reads.
        case test
        /// One account's own SID and auth token: they reach that account only, as a Twilio subaccount's do.
        case account(String)

        /// Whether these credentials may act on `account` (the platform's reach every account the fake knows).
        func reaches(_ account: String, in fake: FakeTwilio) async -> Bool {
            switch self {
            case .live: await fake.knows(account: account)
            case .test: account == fake.configuration.testCredentials?.accountSID
            case .account(let own): own == account
            }
        }
    }

    /// The request's credentials, or `nil` for none or wrong ones (401/20003).
    func credential(_ request: Request) async -> Credential? {
        guard let header = request.headers[.authorization] else { return nil }
        if header == liveAuthorization { return .live }
        if header == testAuthorization { return .test }
        // The same credentials, base64 written another way (no client we know does this), or an account's own.
        guard header.hasPrefix("Basic "), let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
        else { return nil }
        if decoded == "\(configuration.username):\(configuration.password)" { return .live }
        if let test = configuration.testCredentials, decoded == "\(test.accountSID):\(test.authToken)" { return .test }
        guard let colon = decoded.firstIndex(of: ":") else { return nil }
        let sid = String(decoded[..<colon])
        guard TwilioBodies.isAccountSID(sid), let token = await authToken(of: sid), decoded[decoded.index(after: colon)...] == token else {
            return nil
        }
        return .account(sid)
    }

    /// Whether the platform credentials reach `account`: configured, or added at run time.
    func knows(account: String) async -> Bool {
        if accounts[account] != nil { return true }
        return await ledger.addedNumbers(of: account) != nil
    }

    /// Whether `account` owns (or verified) `number`; the configured set is read first, without a hop to the ledger.
    func owns(account: String, number: String) async -> Bool {
        if accounts[account]?.numbers.contains(number) == true { return true }
        return await ledger.addedNumbers(of: account)?.contains(number) == true
    }

    /// An account the fake knows, as configured and added at run time (numbers merged; a token added wins).
    func account(_ sid: String) async -> Account? {
        let configured = accounts[sid]
        guard let added = await ledger.addedAccount(sid) else { return configured }
        guard var merged = configured else { return added }
        merged.numbers.formUnion(added.numbers)
        merged.authToken = added.authToken ?? merged.authToken
        merged.friendlyName = added.friendlyName ?? merged.friendlyName
        return merged
    }

    /// The auth token of a known account: its own, else the platform password (which then signs its callbacks, as
    /// before accounts had tokens); `nil` for an account the fake does not know.
    func authToken(of sid: String) async -> String? {
        guard let account = await account(sid) else { return nil }
        return account.authToken ?? configuration.password
    }

    private static func basic(_ user: String, _ secret: String) -> String {
        "Basic " + Data("\(user):\(secret)".utf8).base64EncodedString()
    }
}
