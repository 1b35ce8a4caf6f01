import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The one owner of Twilio's HTTP: builds Create Call requests and turns every answer, or the lack of one, into a ``DialOutcome``.
///
/// Its `HTTPClient` is dedicated: no redirects (a redirected POST could dial twice), HTTP/1.1, bounded connect and request
/// timeouts, and no automatic reconnect loop (a refused connection fails the attempt at once and the worker's backoff takes over).
///
/// Its description names only the base URL: the `Authorization` header is built from the secret and is one base64
/// decode away from it, so it is a ``Secret`` too.
public struct TwilioClient: Sendable, CustomStringConvertible {
    public let configuration: TwilioConfiguration
    let http: HTTPClient
    /// Built once: the `Authorization` header value (Basic, base64 of the credentials).
    let authorization: Secret

    init(configuration: TwilioConfiguration, http: HTTPClient) {
        self.configuration = configuration
        self.http = http
        self.authorization = Secret("Basic " + Data("\(configuration.username):\(configuration.secret.value)".utf8).base64EncodedString())
    }

    public var description: String { "TwilioClient(\(configuration.baseURL))" }

    /// Runs `body` with a client whose connections are closed when `body` returns.
    public static func with<T>(_ configuration: TwilioConfiguration, logger: Logger, _ body: (TwilioClient) async throws -> T) async throws -> T {
        var http = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(configuration.connectTimeout.nanoseconds), read: .nanoseconds(configuration.requestTimeout.nanoseconds)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnections))
        http.httpVersion = .http1Only
        // No request spans: the worker does not trace (and a span per dial costs CPU on the hot path).
        http.tracing.tracer = nil
        http.connectionPool.retryConnectionEstablishment = false
        return try await HTTPClient.withHTTPClient(configuration: http, backgroundActivityLogger: logger) { client in
            try await body(TwilioClient(configuration: configuration, http: client))
        }
    }

    /// The Create Call form for one attempt: the ring time (`Timeout`, at least 15 s), the longest call (`TimeLimit`),
    /// machine detection as the campaign asks (always asynchronous, so the agent speaks at once), and all four status
    /// events, each callback naming the job and attempt in its query.
    public func createCallForm(to: String, from: String, jobID: Int64, attempt: Int, policy: CampaignPolicy = .defaults) -> [(String, String)] {
        var fields = [("To", to), ("From", from), ("Url", Self.appendQuery(configuration.voiceURL, jobID: jobID, attempt: attempt)),
                      ("Timeout", String(max(15, policy.ringTimeoutSeconds))), ("TimeLimit", String(policy.timeLimitSeconds))]
        if let callback = configuration.statusCallbackURL {
            fields.append(("StatusCallback", Self.appendQuery(callback, jobID: jobID, attempt: attempt)))
            for event in ["initiated", "ringing", "answered", "completed"] { fields.append(("StatusCallbackEvent", event)) }
        }
        if policy.machineDetection != .off {
            fields.append(("MachineDetection", policy.machineDetection.rawValue))
            fields.append(("AsyncAmd", "true"))
            if let callback = configuration.statusCallbackURL {
                fields.append(("AsyncAmdStatusCallback", Self.appendQuery(callback, jobID: jobID, attempt: attempt)))
            }
        }
        return fields
    }

    /// `POST /2010-04-01/Accounts/{subaccount}/Calls.json`. Never throws: transport failures are classified too.
    public func createCall(subaccountSID: String, to: String, from: String, jobID: Int64, attempt: Int, policy: CampaignPolicy = .defaults,
                           logger: Logger) async -> DialOutcome
    {
        var request = HTTPClientRequest(url: "\(configuration.baseURL)/2010-04-01/Accounts/\(subaccountSID)/Calls.json")
        request.method = .POST
        request.headers.reserveCapacity(4)
        request.headers.add(name: "Authorization", value: authorization.value)
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "openphn-dialer/1")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(createCallForm(to: to, from: from, jobID: jobID, attempt: attempt, policy: policy))))
        do {
            let response = try await http.execute(request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds), logger: logger)
            let body = try await response.body.collect(upTo: 256 * 1024)
            return FailureClassifier.classify(
                status: Int(response.status.code), body: String(buffer: body),
                retryAfter: response.headers.first(name: "Retry-After"), serverDate: response.headers.first(name: "Date"))
        } catch {
            return .failed(TransportFailure.classify(error))
        }
    }

    static func appendQuery(_ url: String, jobID: Int64, attempt: Int) -> String {
        url + (url.contains("?") ? "&" : "?") + "job=\(jobID)&attempt=\(attempt)"
    }
}
