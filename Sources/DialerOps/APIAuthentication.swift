import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Who may call a `/v1` route: a tenant's API key (`Authorization: Bearer opk_...`), judged and charged to its rate
/// budget in one statement (``JobStore/authenticate(secret:scopes:)``). The one owner of the contract's auth codes:
/// 401 `invalid_token` (missing, not Bearer, malformed or unknown), 401 `key_revoked`, 401 `key_expired` (past its
/// expiry or its rotation's grace), 403 `dashboard_only` (a session JWT), 403 `scope_required` (details name the scope),
/// 429 `rate_limited` with `Retry-After` and the RateLimit headers. Keys are never logged; a log names the key's id.
struct APIAuthentication: Sendable {
    let store: JobStore
    let logger: Logger

    /// The key's tenant and budget, or the answer that refuses the request.
    enum Outcome: Sendable {
        case allowed(AuthenticatedKey)
        case refused(Response)
    }

    func authorize(_ request: Request, scopes: [APIScope]) async -> Outcome {
        guard let header = request.headers[.authorization] else {
            return .refused(Self.unauthorized(OpenPhnError(.invalidToken, "The Authorization header is missing: send Authorization: Bearer <API key>.")))
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .refused(Self.unauthorized(OpenPhnError(.invalidToken, "The Authorization header is not a bearer token: send Authorization: Bearer <API key>.")))
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        if APIKeySecret.looksLikeJWT(token) {
            return .refused(Response.openPhn(OpenPhnError(.dashboardOnly, "This is a dashboard session token; the /v1 API takes an API key.")))
        }
        guard APIKeySecret.looksLikeKey(token) else {
            return .refused(Self.unauthorized(OpenPhnError(.invalidToken, "The bearer token is not an OpenPhn API key.")))
        }
        let check: KeyCheck
        do {
            let store = self.store
            check = try await withTimeout(.seconds(5), what: "checking an API key") { try await store.authenticate(secret: token, scopes: scopes) }
        } catch {
            logger.error("checking an API key failed", metadata: ["error": "\(String(reflecting: error))"])
            return .refused(Response.openPhn(OpenPhnError(.upstreamUnavailable, "The request could not be authenticated now; retry it."), status: 503))
        }
        switch check {
        case .unknown:
            return .refused(Self.unauthorized(OpenPhnError(.invalidToken, "The API key is not valid.")))
        case .revoked:
            return .refused(Self.unauthorized(OpenPhnError(.keyRevoked, "The API key was revoked.")))
        case .expired:
            return .refused(Self.unauthorized(OpenPhnError(.keyExpired, "The API key has expired (or its rotation's grace period ended).")))
        case .valid(let key):
            guard key.hasScope else {
                let names = scopes.map(\.rawValue)
                return .refused(Response.openPhn(OpenPhnError(.scopeRequired, "The API key lacks the scope \(names.joined(separator: " or ")) this route needs.",
                                                      details: ["scope": .string(names[0]), "any_of": .array(names.map(JSONValue.string))])))
            }
            guard key.allowed else {
                let wait = max(1, Int(key.retryAfterSeconds.rounded(.up)))
                var response = Response.openPhn(OpenPhnError(.rateLimited, "The API key's rate budget is spent; retry after \(wait) s.",
                                                             details: ["retry_after_seconds": .number(Double(wait))]))
                response.headers[.retryAfter] = String(wait)
                Self.addRateHeaders(key, to: &response)
                return .refused(response)
            }
            return .allowed(key)
        }
    }

    /// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the budget is full again).
    static func addRateHeaders(_ key: AuthenticatedKey, to response: inout Response) {
        response.headers[HTTPField.Name("RateLimit-Limit")!] = String(key.limit)
        response.headers[HTTPField.Name("RateLimit-Remaining")!] = String(key.remaining)
        response.headers[HTTPField.Name("RateLimit-Reset")!] = String(Int(key.resetSeconds.rounded(.up)))
    }

    static func unauthorized(_ error: OpenPhnError) -> Response {
        var response = Response.openPhn(error)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }
}
