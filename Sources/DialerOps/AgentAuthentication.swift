import DialerCore
import Foundation
import HTTPTypes
import Hummingbird

/// Who may call the agent's routes of `dialer serve`: a bearer token, `DIALER_AGENT_TOKEN`, until tenants' API keys
/// exist. The one owner of that check, so every agent route authenticates the same way.
struct AgentAuthentication: Sendable {
    let token: Secret

    /// `nil` when the request carries `Authorization: Bearer <token>` with the configured token; otherwise the 401
    /// `invalid_token` answer, with `WWW-Authenticate: Bearer` (RFC 6750). The comparison is constant-time
    /// (``Secret/matches(_:)``).
    func refusal(_ request: Request) -> Response? {
        guard let error = problem(request) else { return nil }
        var response = Response.openPhn(error)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    private func problem(_ request: Request) -> OpenPhnError? {
        guard let header = request.headers[.authorization] else {
            return OpenPhnError(.invalidToken, "The Authorization header is missing: send Authorization: Bearer <token>.")
        }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return OpenPhnError(.invalidToken, "The Authorization header is not a bearer token: send Authorization: Bearer <token>.")
        }
        guard token.matches(parts[1].trimmingCharacters(in: .whitespaces)) else {
            return OpenPhnError(.invalidToken, "The bearer token is not valid.")
        }
        return nil
    }
}
