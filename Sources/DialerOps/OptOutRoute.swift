import DialerCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `POST /v1/opt-outs`: the AI agent reports that the callee asked not to be called again (FCC 24-24: a revocation
/// in any reasonable manner, honoured within ten business days; here, before the answer is sent).
///
/// Body: `{"tenant_id", "to", "source", "call_sid" (optional)}`. The number goes on the tenant's do-not-call list and
/// its waiting jobs are cancelled, in one transaction with an `audit_log` row (``JobStore/optOut(_:actor:)``); the answer
/// is 201 `{tenant_id, to (masked), cancelled_jobs, source}`.
///
/// Who may send it: a tenant's API key with `calls:write` or `dnc:write` (any key that places calls may report that a
/// callee said stop: an opt-out is never refused for a narrower scope; `tenant_id` may be left out, another tenant's is
/// 404), through ``APIGateway`` (rate budget, `Idempotency-Key`); or the platform's AI agent with `DIALER_AGENT_TOKEN`
/// (``AgentAuthentication``), naming the tenant. Errors: 400 `invalid_request` naming the field, 400 `invalid_phone`,
/// 401 `invalid_token`, 404 `not_found` (unknown tenant), 503 when the database does not answer (retry).
struct OptOutRoute: Sendable {
    static let path = "/v1/opt-outs"
    /// Who `audit_log.actor` says reported it.
    static let actor = "agent"

    let store: JobStore
    let gateway: APIGateway
    /// `nil`: DIALER_AGENT_TOKEN is unset and only API keys are taken.
    let authentication: AgentAuthentication?
    let metrics: DialerMetrics
    let logger: Logger

    func handle(_ request: Request) async -> Response {
        let bearer = request.headers[.authorization].map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" } ?? ""
        guard let authentication, !APIKeySecret.looksLikeKey(bearer.trimmingCharacters(in: .whitespaces)) else {
            return await gateway.handle(request, route: "POST /v1/opt-outs", scopes: [.callsWrite, .dncWrite], maxBody: 16 * 1024) { key, body in
                let optOut: OptOutRequest
                do { optOut = try OptOutRequest(json: String(buffer: body), keyTenant: key.tenantID) } catch {
                    metrics.optOut(result: "refused")
                    throw error
                }
                return try await record(optOut, actor: "api:\(key.id)")
            }
        }
        if let refusal = authentication.refusal(request) {
            metrics.optOut(result: "refused")
            return refusal
        }
        guard let body = try? await request.body.collect(upTo: 16 * 1024) else {
            metrics.optOut(result: "refused")
            return .openPhn(OpenPhnError(.invalidRequest, "The body is larger than 16 KiB.", details: ["field": "body"]), status: 413)
        }
        let optOut: OptOutRequest
        do {
            optOut = try OptOutRequest(json: String(buffer: body))
        } catch {
            metrics.optOut(result: "refused")
            return .openPhn(error)
        }
        do {
            let reply = try await record(optOut, actor: Self.actor)
            return Response(status: reply.status, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: reply.body.jsonText)))
        } catch let error as OpenPhnError {
            return .openPhn(error)
        } catch {
            logger.error("recording an opt-out failed", metadata: [
                "tenant": "\(optOut.tenantID)", "to": "\(optOut.destination.masked)", "error": "\(String(reflecting: error))",
            ])
            return .openPhn(OpenPhnError(.upstreamUnavailable, "The opt-out could not be recorded; send it again."), status: 503)
        }
    }

    /// Records the opt-out (waiting up to 15 s for the database: an opt-out should rather be slow than be sent again)
    /// and counts it by result; the caller answers a failure in its own way.
    private func record(_ optOut: OptOutRequest, actor: String) async throws -> APIReply {
        let store = self.store
        do {
            let result = try await withTimeout(.seconds(15), what: "recording an opt-out") { try await store.optOut(optOut, actor: actor) }
            metrics.optOut(result: "recorded", cancelled: result.cancelled)
            return .json(Self.resource(result), status: .created)
        } catch let error as OpenPhnError {
            metrics.optOut(result: "refused")
            throw error
        } catch {
            metrics.optOut(result: "error")
            throw error
        }
    }

    static func resource(_ result: OptOutResult) -> JSONValue {
        .object([
            "tenant_id": .string(result.tenantID), "to": .string(result.destination.masked),
            "cancelled_jobs": .number(Double(result.cancelled)), "source": .string(result.source),
        ])
    }
}
