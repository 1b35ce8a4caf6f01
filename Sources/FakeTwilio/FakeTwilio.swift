import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A fake of Twilio's Calls API on loopback, for tests, the demo and the benchmark. It speaks Create Call the way
/// Twilio does: HTTP Basic auth, form-encoded parameters, Twilio-shaped 201 and error bodies, the test magic numbers
/// (twilio.md section 4); and it takes scripted faults per destination (429 with or without Retry-After, 5xx, 5xx after
/// creating the call, delays). Every call it creates goes into its ledger, the ground truth for how often a job was dialed.
///
/// Control endpoints (not Twilio's): `GET /_fake/calls`, `POST /_fake/script`, `POST /_fake/reset`.
public struct FakeTwilio: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `run(onListening:)` reports it.
        public var port: Int
        /// Accepted HTTP Basic credentials: the platform's account SID (or API key SID) and its secret.
        public var username: String
        public var password: String

        public init(host: String = "127.0.0.1", port: Int = 0, username: String, password: String) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
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

    /// Starts the fake, runs `body` with its base URL (`http://127.0.0.1:PORT`), and stops it.
    public func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await self.run { port in portSink.yield(port) }
                return nil
            }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            return try await body("http://\(configuration.host):\(port)")
        }
    }

    /// The Hummingbird application, a `Service` for a `ServiceGroup`.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.post("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.createCall(request, context: context)
        }
        router.get("/2010-04-01/Accounts/:account/Calls.json") { request, context in
            try await self.listCalls(request, context: context)
        }
        router.get("/_fake/calls") { _, _ in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            return Self.response(200, String(decoding: try encoder.encode(await ledger.calls), as: UTF8.self))
        }
        router.post("/_fake/script") { request, _ in
            struct Script: Decodable {
                var to: String?
                var responses: [FakeResponse]
            }
            let body = try await request.body.collect(upTo: 1 << 20)
            guard let script = try? JSONDecoder().decode(Script.self, from: Data(String(buffer: body).utf8)) else {
                return Self.response(400, #"{"error":"expected {\"to\": \"+1...\", \"responses\": [{\"status\": 503}]}"}"#)
            }
            if let to = script.to { await ledger.script(to: to, script.responses) } else { await ledger.scriptAll(script.responses) }
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
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    static func response(_ status: Int, _ json: String, headers extra: [(String, String)] = []) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[HTTPField.Name("Twilio-Request-Id")!] = "RQ" + TwilioBodies.hex(32)
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
