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
/// auth token of the call's account, `I-Twilio-Idempotency-Token` on each; and the asynchronous AMD callback
/// (`AsyncAmdStatusCallback`) when the verdict is known. A call's callbacks go one after the other, each when its status
/// changes on the fake's clock (the call's timeline, ``FakeCall/events``: the same instants the Call resource reports),
/// in the order, and as many times, as ``CallbackSchedule`` says (the configured faults, or the destination's script);
/// calls are served concurrently. Only loopback URLs are ever contacted; others are recorded as skipped.
///
/// A `Service` of the fake's application: it owns its HTTP client and shuts it down when the fake stops; pending
/// callbacks are dropped then. Create Call never waits for it.
final class StatusCallbacks: Service {
    private let ledger: FakeTwilioLedger
    private let faults: CallbackFaults
    private let seed: UInt64
    private let logger: Logger
    private let pending = AsyncStream.makeStream(of: Plan.self)
    /// Calls whose callbacks are in flight at once; more wait in the stream.
    private let concurrentCalls: Int

    /// The callbacks one call will get.
    struct Plan: Sendable {
        let call: FakeCall
        /// The auth token of the call's account: the key of every signature.
        let authToken: String
        let deliveries: [CallbackSchedule.Delivery]
    }

    init(ledger: FakeTwilioLedger, faults: CallbackFaults, seed: UInt64, concurrentCalls: Int = 64, logger: Logger) {
        self.concurrentCalls = max(1, concurrentCalls)
        self.ledger = ledger
        self.faults = faults
        self.seed = seed
        self.logger = logger
    }

    /// Schedules the callbacks of a call just created; returns at once. Those to a host off this machine are recorded
    /// as skipped now, never sent.
    func callCreated(_ call: FakeCall, authToken: String) async {
        let deliveries = CallbackSchedule.deliveries(call, faults: faults, seed: seed)
        guard !deliveries.isEmpty else { return }
        let now = await ledger.now()
        var local: [CallbackSchedule.Delivery] = []
        for delivery in deliveries {
            let target = Self.target(call, delivery.kind)
            if Self.isLoopback(target.url) {
                local.append(delivery)
            } else {
                await ledger.record(Self.record(call, delivery, url: target.url, method: target.method, result: .skipped,
                                                error: "not a loopback host", at: now))
            }
        }
        if !local.isEmpty { pending.continuation.yield(Plan(call: call, authToken: authToken, deliveries: local)) }
    }

    func run() async throws {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(15)))
        configuration.httpVersion = .http1Only
        configuration.connectionPool.retryConnectionEstablishment = false
        // As many connections as calls in flight: Twilio's callbacks do not queue behind one another's answers.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrentCalls
        try await HTTPClient.withHTTPClient(configuration: configuration, backgroundActivityLogger: logger) { http in
            await cancelWhenGracefulShutdown {
                await withTaskGroup(of: Void.self) { group in
                    var running = 0
                    for await plan in self.pending.stream {
                        if running == self.concurrentCalls {
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
        for delivery in plan.deliveries {
            // Twilio calls back when the status changes: once the call leaves the queue, rings, is answered, ends.
            let wait = delivery.sendAt.timeIntervalSince(await ledger.now())
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(Int64((wait * 1000).rounded(.up)))) } catch { return }
            }
            if Task.isCancelled { return }
            let target = Self.target(plan.call, delivery.kind)
            let parameters = Self.parameters(plan.call, delivery)
            guard delivery.copies > 0 else {
                await ledger.record(Self.record(plan.call, delivery, url: target.url, method: target.method, result: .dropped, error: nil,
                                                at: await ledger.now()))
                continue
            }
            let signedURL: String
            var request: HTTPClientRequest
            if target.method == "GET" {
                signedURL = target.url + (target.url.contains("?") ? "&" : "?") + TwilioBodies.formEncoded(parameters)
                request = HTTPClientRequest(url: signedURL)
                request.method = .GET
            } else {
                signedURL = target.url
                request = HTTPClientRequest(url: signedURL)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: TwilioBodies.formEncoded(parameters)))
            }
            let signature = Self.signature(url: signedURL, parameters: target.method == "GET" ? [] : parameters, authToken: plan.authToken)
            request.headers.add(name: "X-Twilio-Signature", value: signature)
            // A duplicate is the same request again, token included: what a receiver sees when Twilio delivers twice.
            request.headers.add(name: "I-Twilio-Idempotency-Token", value: UUID().uuidString.lowercased())
            request.headers.add(name: "User-Agent", value: "TwilioProxy/1.1")
            request.headers.add(name: "Accept", value: "*/*")
            for _ in 0..<delivery.copies {
                let (result, httpStatus, error) = await send(request, http: http)
                await ledger.record(Self.record(plan.call, delivery, url: signedURL, method: target.method, result: result, httpStatus: httpStatus,
                                                error: error, at: await ledger.now()))
            }
        }
    }

    /// Where a delivery goes: the status callback or the AMD one, with its method.
    static func target(_ call: FakeCall, _ kind: CallbackSchedule.Delivery.Kind) -> (url: String, method: String) {
        switch kind {
        case .status: (call.statusCallback ?? "", call.statusCallbackMethod)
        case .amd: (call.asyncAmdStatusCallback ?? "", call.asyncAmdStatusCallbackMethod)
        }
    }

    /// The ledger's entry for one delivery (or one copy of it).
    static func record(_ call: FakeCall, _ delivery: CallbackSchedule.Delivery, url: String, method: String, result: FakeCallback.Result,
                       httpStatus: Int? = nil, error: String?, at instant: Date) -> FakeCallback
    {
        switch delivery.kind {
        case .status(let sequence, let status, let final):
            FakeCallback(kind: .status, callSID: call.sid, url: url, method: method, callStatus: status, sequenceNumber: sequence,
                         answeredBy: final ? call.outcome.answeredBy?.rawValue : nil, result: result, httpStatus: httpStatus, error: error,
                         at: instant)
        case .amd:
            FakeCallback(kind: .amd, callSID: call.sid, url: url, method: method, callStatus: call.status(at: delivery.eventAt), sequenceNumber: nil,
                         answeredBy: call.outcome.answeredBy?.rawValue, result: result, httpStatus: httpStatus, error: error, at: instant)
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

    /// The parameters of one callback. A status callback (twilio.md section 5.2) is stamped with the instant of its
    /// status change; the final one adds the call's duration, SIP code and, with AMD, `AnsweredBy`. The AMD callback
    /// carries `CallSid`, `AccountSid`, `AnsweredBy` and `MachineDetectionDuration` (after-the-dial.md section 1.5).
    static func parameters(_ call: FakeCall, _ delivery: CallbackSchedule.Delivery) -> [(String, String)] {
        guard case .status(let sequence, let status, let final) = delivery.kind else {
            return [("AccountSid", call.accountSID), ("CallSid", call.sid), ("AnsweredBy", call.outcome.answeredBy?.rawValue ?? "unknown"),
                    ("MachineDetectionDuration", String(call.machineDetectionDuration ?? 0))]
        }
        var fields = [
            ("AccountSid", call.accountSID), ("ApiVersion", "2010-04-01"), ("CallSid", call.sid), ("CallStatus", status),
            ("Direction", "outbound-api"), ("From", call.from), ("To", call.to), ("Caller", call.from), ("Called", call.to),
            ("Timestamp", TwilioBodies.rfc2822(delivery.eventAt)), ("CallbackSource", "call-progress-events"), ("SequenceNumber", String(sequence)),
        ]
        // STIR/SHAKEN: a call from one of the account's own numbers is signed with full attestation (twilio.md: on
        // ringing and in-progress).
        if status == "ringing" || status == "in-progress" { fields.append(("StirStatus", "A")) }
        if final {
            fields += [("CallDuration", String(call.duration)), ("Duration", String((call.duration + 59) / 60)),
                       ("SipResponseCode", String(call.outcome.sipCode))]
            if let answeredBy = call.outcome.answeredBy { fields.append(("AnsweredBy", answeredBy.rawValue)) }
        }
        return fields
    }

    /// `X-Twilio-Signature` (twilio.md section 5.3): base64 of HMAC-SHA1, keyed by the auth token, of the URL followed by
    /// each parameter name and value, names in byte order (a repeated name's distinct values in byte order too).
    static func signature(url: String, parameters: [(String, String)], authToken: String) -> String {
        // Twilio's order: names in byte order, a repeated name's distinct values in byte order; each fed to the HMAC as it
        // comes (no joined copy of the text: the fake signs four callbacks a call).
        var hmac = HMAC<Insecure.SHA1>(key: SymmetricKey(data: Data(authToken.utf8)))
        hmac.update(data: Array(url.utf8))
        let ordered = parameters.sorted { a, b in
            a.0 == b.0 ? a.1.utf8.lexicographicallyPrecedes(b.1.utf8) : a.0.utf8.lexicographicallyPrecedes(b.0.utf8)
        }
        for (index, (name, value)) in ordered.enumerated() where index == 0 || ordered[index - 1] != (name, value) {
            hmac.update(data: Array(name.utf8))
            hmac.update(data: Array(value.utf8))
        }
        return Data(hmac.finalize()).base64EncodedString()
    }

    /// Whether `url` points at this machine (127.0.0.1, ::1, localhost): the only hosts the fake calls back.
    static func isLoopback(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
            let host = components.host?.lowercased()
        else { return false }
        return ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host)
    }
}
