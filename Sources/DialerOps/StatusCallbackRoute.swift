import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST` (or `GET`) of the path of `DIALER_STATUS_CALLBACK_URL`: Twilio's status callbacks.
///
/// The signature is checked against the configured public URL with the query Twilio called (never the Host header:
/// behind a load balancer the two differ) and the auth token; a missing or wrong one is 403 and stores nothing. A
/// valid callback is stored once ((CallSid, SequenceNumber)), by group commit, and answered 204 once it is durable; a
/// final one then settles its job (the campaign policy). A repeat is 204 too. The
/// answer is never 429 (Twilio does not retry those); a database that does not answer is 503, which Twilio retries once.
struct StatusCallbackRoute: Sendable {
    /// Stores callbacks by group commit and applies the final ones to their jobs.
    let writer: CallbackWriter
    /// The public URL as Twilio is given it, without the `job`/`attempt` query our client appends.
    let callbackURL: String
    /// The tokens a callback may be signed with: the platform's, and its subaccount's.
    let keys: SigningKeys
    let metrics: DialerMetrics
    let logger: Logger

    func handle(_ request: Request) async -> Response {
        let query = request.uri.query ?? ""
        let url = Self.signedURL(configured: callbackURL, query: query)
        let queryFields = FormEncoding.decode(query)
        let parameters: [(String, String)]
        let signed: [(String, String)]
        if request.method == .post {
            guard let body = try? await request.body.collect(upTo: 64 * 1024) else {
                return refuse(413, OpenPhnError(.invalidRequest, "The callback body is larger than 64 KiB."), result: "malformed")
            }
            parameters = FormEncoding.decode(String(buffer: body))
            signed = parameters
        } else {
            // A GET callback carries its parameters in the query, which is part of the signed URL.
            parameters = queryFields
            signed = []
        }
        let account = parameters.first { $0.0 == "AccountSid" }?.1
        let signature = request.headers[values: HTTPField.Name("X-Twilio-Signature")!].first
        var valid = false
        if let signature {
            let fields = TwilioSignature.signedFields(signed)
            for token in await keys.tokens(forAccount: account) where TwilioSignature.isValid(signature: signature, url: url, signedFields: fields,
                                                                                             authToken: token.value) {
                valid = true
                break
            }
        }
        guard valid else {
            return refuse(403, OpenPhnError(.invalidSignature, "The X-Twilio-Signature header is missing or does not match this URL."),
                          result: "bad_signature")
        }
        let callback: StatusCallback
        do {
            callback = try StatusCallback(parameters: parameters, query: queryFields)
        } catch {
            return refuse(400, error, result: "malformed")
        }
        do {
            let stored = try await writer.write(callback)
            metrics.callbackReceived(result: stored ? "stored" : "duplicate")
            if logger.logLevel <= .debug {
                logger.debug("status callback", metadata: [
                    "call.sid": "\(callback.callSID)", "call_status": "\(callback.status.rawValue)", "sequence": "\(callback.sequenceNumber)",
                    "job.id": "\(callback.jobID.map(String.init) ?? "-")", "duplicate": "\(!stored)",
                ])
            }
            return Response(status: .noContent)
        } catch {
            logger.error("storing a status callback failed", metadata: ["call.sid": "\(callback.callSID)", "error": "\(String(reflecting: error))"])
            return refuse(503, OpenPhnError(.upstreamUnavailable, "The callback could not be stored; Twilio retries it."), result: "error")
        }
    }

    /// The URL Twilio signed: the configured one (scheme, host, port, path) with the query of the request it made.
    static func signedURL(configured: String, query: String) -> String {
        let base = configured.split(separator: "?", maxSplits: 1).first.map(String.init) ?? configured
        return query.isEmpty ? base : base + "?" + query
    }

    private func refuse(_ status: Int, _ error: OpenPhnError, result: String) -> Response {
        metrics.callbackReceived(result: result)
        return .openPhn(error, status: status)
    }
}
