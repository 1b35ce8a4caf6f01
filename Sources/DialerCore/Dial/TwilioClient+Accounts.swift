import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

extension TwilioClient {
    /// `GET /2010-04-01/Accounts/{sid}.json` with the platform credentials: a subaccount's auth token, which is the key
    /// Twilio signs that subaccount's webhooks with. `nil` when Twilio does not answer usably.
    public func subaccountAuthToken(_ sid: String, logger: Logger) async -> Secret? {
        do {
            let (status, body) = try await get("/2010-04-01/Accounts/\(sid).json", logger: logger)
            guard status == .ok, let account = try? JSONDecoder().decode(AccountResource.self, from: Data(String(buffer: body).utf8)),
                account.sid == sid, let token = account.auth_token, !token.isEmpty
            else { return nil }
            return Secret(token)
        } catch {
            return nil
        }
    }

    struct AccountResource: Decodable {
        let sid: String
        let auth_token: String?
    }
}
