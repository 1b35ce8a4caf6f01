import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// Sends the status callbacks of the calls the fake creates, the way Twilio does (twilio.md section 5): form-encoded,
/// `StatusCallbackEvent` honoured (only `completed` when none is subscribed), signed with `X-Twilio-Signature` using the
/// auth token, `I-Twilio-Idempotency-Token` on each. A call's callbacks go one after the other, in order, each when its
/// status changes on the fake's clock (the call's timeline, ``FakeCall/events``: the same instants the Call resource
/// reports); calls are served concurrently. Only loopback URLs are ever contacted; others are recorded as skipped.
///
/// A `Service` of the fake's application: it owns its HTTP client and shuts it down when the fake stops; pending
/// callbacks are dropped then. Create Call never waits for it.
final class StatusCallbacks: Service {
    private let ledger: FakeTwilioLedger
    private let authToken: String
    private let logger: Logger
    private let pending = AsyncStream.makeStream(of: Plan.self)
    /// Calls whose callbacks are in flight at once; more wait in the stream.
    private static let concurrentCalls = 64

    /// The callbacks one call will get.
    struct Plan: Sendable {
        let call: FakeCall
        let callback: String
        let method: String
        /// `CallStatus` of each callback to send, in order, with the instant (fake clock) it happens; the last is the final one
        /// only if `completed` is subscribed.
        let events: [(status: String, at: Date, final: Bool)]
    }

    init(ledger: FakeTwilioLedger, authToken: String, logger: Logger) {
        self.ledger = ledger
        self.authToken = authToken
        self.logger = logger
    }

    /// Schedules the callbacks of a call just created; returns at once.
    func callCreated(_ call: FakeCall) async {
        guard let callback = call.statusCallback, !callback.isEmpty else { return }
        let plan = Plan(call: call, callback: callback, method: call.statusCallbackMethod, events: Self.events(call))
        guard Self.isLoopback(callback) else {
            let now = await ledger.now()
            for (sequence, event) in plan.events.enumerated() {
                await ledger.record(FakeCallback(callSID: call.sid, url: callback, method: plan.method, callStatus: event.status,
                                                 sequenceNumber: sequence, result: .skipped, httpStatus: nil, error: "not a loopback host", at: now))
            }
            return
        }
        pending.continuation.yield(plan)
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(15)))
        configuration.httpVersion = .http1Only
        configuration.connectionPool.retryConnectionEstablishment = false
        try await HTTPClient.withHTTPClient(configuration: configuration, backgroundActivityLogger: logger) { http in
            await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    var running = 0
                    for await plan in self.pending.stream {
                        if running == Self.concurrentCalls {
                            await group.next()
                            running -= 1
                        }
                        group.addTask { await self.deliver(plan, http: http) }
                        running += 1
                    }
                    group.cancelAll()
                }
            }
        }
    }

    private func deliver(_ plan: Plan, http: HTTPClient) async {
        for (sequence, event) in plan.events.enumerated() {
            // Twilio calls back when the status changes: once the call leaves the queue, rings, is answered, ends.
            let wait = event.at.timeIntervalSince(await ledger.now())
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) } catch { return }
            }
            if Task.isCancelled { return }
            let status = event.status
            let parameters = Self.parameters(plan.call, status: status, sequence: sequence, at: event.at, final: event.final)
            let signedURL: String
            var request: HTTPClientRequest
            if plan.method == "GET" {
                signedURL = plan.callback + (plan.callback.contains("?") ? "&" : "?") + TwilioBodies.formEncoded(parameters)
                request = HTTPClientRequest(url: signedURL)
                request.method = .GET
            } else {
                signedURL = plan.callback
                request = HTTPClientRequest(url: signedURL)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: TwilioBodies.formEncoded(parameters)))
            }
            request.headers.add(name: "X-Twilio-Signature",
                                value: Self.signature(url: signedURL, parameters: plan.method == "GET" ? [] : parameters, authToken: authToken))
            request.headers.add(name: "I-Twilio-Idempotency-Token", value: UUID().uuidString.lowercased())
            request.headers.add(name: "User-Agent", value: "TwilioProxy/1.1")
            request.headers.add(name: "Accept", value: "*/*")
            let (result, httpStatus, error) = await send(request, http: http)
            await ledger.record(FakeCallback(callSID: plan.call.sid, url: signedURL, method: plan.method, callStatus: status,
                                             sequenceNumber: sequence, result: result, httpStatus: httpStatus, error: error, at: await ledger.now()))
        }
    }

    /// One callback; a failed connection is tried once more, as Twilio's default connection override `rc=1` does.
    private func send(_ request: HTTPClientRequest, http: HTTPClient) async -> (FakeCallback.Result, Int?, String?) {
        var tries = 0
        while true {
            tries += 1
            do {
                let response = try await http.execute(request, timeout: .seconds(15), logger: logger)
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return (.delivered, Int(response.status.code), nil)
            } catch {
                if tries < 2, Self.isConnectFailure(error), !Task.isCancelled { continue }
                return (.failed, nil, String(describing: error))
            }
        }
    }

    private static func isConnectFailure(_ error: any Error) -> Bool {
        if error is NIOConnectionError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
        return false
    }

    /// The callbacks of `call` given its subscribed events: `answered` is reported as `in-progress`, `completed` as the
    /// final status; no subscription means `completed` only.
    static func events(_ call: FakeCall) -> [(status: String, at: Date, final: Bool)] {
        let wanted = call.statusCallbackEvents.isEmpty ? ["completed"] : Set(call.statusCallbackEvents.map { $0.lowercased() })
        return call.events.compactMap { event in
            wanted.contains(event.event) ? (event.status, event.at, event.event == "completed") : nil
        }
    }

    /// The parameters of one callback (twilio.md section 5.2), stamped with the instant of its status change; `final`
    /// adds the call's duration and SIP code.
    static func parameters(_ call: FakeCall, status: String, sequence: Int, at instant: Date, final: Bool) -> [(String, String)] {
        var fields = [
            ("AccountSid", call.accountSID), ("ApiVersion", "2010-04-01"), ("CallSid", call.sid), ("CallStatus", status),
            ("Direction", "outbound-api"), ("From", call.from), ("To", call.to), ("Caller", call.from), ("Called", call.to),
            ("Timestamp", TwilioBodies.rfc2822(instant)), ("CallbackSource", "call-progress-events"), ("SequenceNumber", String(sequence)),
        ]
        if final {
            fields += [("CallDuration", String(call.duration)), ("Duration", String((call.duration + 59) / 60)),
                       ("SipResponseCode", String(call.outcome.sipCode))]
        }
        return fields
    }

    /// `X-Twilio-Signature` (twilio.md section 5.3): base64 of HMAC-SHA1, keyed by the auth token, of the URL followed by
    /// each parameter name and value, names in byte order (a repeated name's distinct values in byte order too).
    static func signature(url: String, parameters: [(String, String)], authToken: String) -> String {
        var message = url
        let byName = Dictionary(grouping: parameters, by: \.0)
        for name in byName.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            for value in Set(byName[name, default: []].map(\.1)).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                message += name + value
            }
        }
        let code = HMAC<Insecure.SHA1>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(code).base64EncodedString()
    }

    /// Whether `url` points at this machine (127.0.0.1, ::1, localhost): the only hosts the fake calls back.
    static func isLoopback(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
            let host = components.host?.lowercased()
        else { return false }
        return ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host)
    }
}
