import Foundation
import Hummingbird

extension FakeTwilio {
    /// `GET /2010-04-01/Accounts/{AccountSid}.json`: the Account resource of an account the credentials reach, with its
    /// `auth_token` (as Twilio shows a subaccount's token to its parent); the refusals of every read (401/20003,
    /// 403/20008 with test credentials, 404/20404 for an account the fake does not know).
    func fetchAccount(_ request: Request, context: FakeTwilioRequestContext) async throws -> Response {
        let sid = context.parameters.get("account") ?? ""
        await ledger.countAccountRead()
        if let refused = await refuseRead(request, account: sid) { return refused }
        guard let account = await account(sid) else {
            return Self.error(404, code: 20404, "The requested resource \(request.uri.path) was not found")
        }
        return Self.response(200, TwilioBodies.json(accountResource(account)))
    }

    /// The Account resource (Twilio's `api.v2010.account`): always `active` and `Full`, owned by the platform's account
    /// when its username is an account SID (an API key's SID names no account: the account owns itself then).
    func accountResource(_ account: Account) -> [String: Any?] {
        let base = "/2010-04-01/Accounts/\(account.sid)"
        let created = TwilioBodies.rfc2822(ledger.startedAt)
        let uris: [String: Any?] = [
            "calls": base + "/Calls.json", "incoming_phone_numbers": base + "/IncomingPhoneNumbers.json",
            "notifications": base + "/Notifications.json", "outgoing_caller_ids": base + "/OutgoingCallerIds.json",
            "recordings": base + "/Recordings.json", "usage": base + "/Usage.json",
        ]
        return [
            "auth_token": account.authToken ?? configuration.password,
            "date_created": created,
            "date_updated": created,
            "friendly_name": account.friendlyName ?? "Subaccount \(account.sid)",
            "owner_account_sid": TwilioBodies.isAccountSID(configuration.username) ? configuration.username : account.sid,
            "sid": account.sid,
            "status": "active",
            "subresource_uris": uris,
            "type": "Full",
            "uri": base + ".json",
        ]
    }
}
