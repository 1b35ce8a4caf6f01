import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A fake of Twilio's Calls API on loopback, for tests, the demo and the benchmark. It speaks Create Call the way
/// Twilio does: HTTP Basic auth, form-encoded parameters, Twilio-shaped 201 and error bodies, the test magic numbers
/// (twilio.md section 4), a per-account calls-per-second queue that answers 201 with a `queue_time` instead of refusing,
/// and signed status callbacks to loopback URLs (section 5). It takes scripted faults per destination (429 with or
/// without Retry-After, 5xx, 5xx after creating the call, delays, connection resets). Every call it creates goes into
/// its ledger, the ground truth for how often a job was dialed.
///
/// Control endpoints (not Twilio's): `GET /_fake/calls`, `GET /_fake/callbacks`, `POST /_fake/script`,
/// `POST /_fake/config`, `POST /_fake/reset`.
public struct FakeTwilio: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `run(onListening:)` reports it.
        public var port: Int
        /// Accepted HTTP Basic credentials: the platform's account SID (or API key SID) and its secret.
        public var username: String
        /// Also the auth token that signs status callbacks (`X-Twilio-Signature`).
        public var password: String
        /// Simulated calls per second of each account: calls above it are still created, queued, with the wait in the
        /// 201's `queue_time`. `nil` (the default) is unlimited, so `queue_time` is always "0".
        public var callsPerSecond: Double?

        public init(host: String = "127.0.0.1", port: Int = 0, username: String, password: String, callsPerSecond: Double? = nil) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.callsPerSecond = callsPerSecond
        }
    }

    public let configuration: Configuration
    public let ledger: FakeTwilioLedger
    let logger: Logger

    public init(configuration: Configuration, ledger: FakeTwilioLedger = FakeTwilioLedger(), logger: Logger = Logger(label: "fake-twilio")) {
        self.configuration = configuration
        self.ledger = ledger
        self.logger = logger
    }

    /// Serves until cancelled or shut down gracefully. `onListening` receives the bound port.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await application(onListening: onListening).run()
    }

    /// The Hummingbird application, a `Service` for a `ServiceGroup`.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router(context: FakeTwilioRequestContext.self)
        let callbacks = StatusCallbacks(ledger: ledger, authToken: configuration.password, logger: logger)
        router.post("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.createCall(request, context: context, callbacks: callbacks)
        }
        router.get("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.listCalls(request, context: context)
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

    func authorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
        else { return false }
        return decoded == "\(configuration.username):\(configuration.password)"
    }
}
