import Foundation
import Hummingbird
import NIOCore

extension FakeTwilio {
    /// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`, validated in Twilio's order (twilio.md section 6).
    func createCall(_ request: Request, context: FakeTwilioRequestContext, callbacks: StatusCallbacks) async throws -> Response {
        guard authorized(request) else { return Self.error(401, code: 20003, "Authenticate") }
        let account = context.parameters.get("account") ?? ""
        guard TwilioBodies.isAccountSID(account) else {
            return Self.error(404, code: 20404, "The requested resource \(request.uri.path) was not found")
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = TwilioBodies.form(String(buffer: body))
        let to = form["To"]?.first ?? ""
        let from = form["From"]?.first ?? ""
        let url = form["Url"]?.first ?? form["Twiml"]?.first ?? form["ApplicationSid"]?.first ?? ""

        if let scripted = await ledger.nextResponse(for: to) {
            var created: FakeCall?
            if scripted.createFirst == true {
                created = await create(account: account, to: to, from: from, url: url, form: form, callbacks: callbacks)
            }
            if let delay = scripted.delayMilliseconds { try await Task.sleep(for: .milliseconds(delay)) }
            if scripted.resetConnection == true {
                await context.resetConnection()
                throw ConnectionResetByFake()
            }
            var headers: [(String, String)] = []
            if let retryAfter = scripted.retryAfter { headers.append(("Retry-After", retryAfter)) }
            if scripted.status != 201 {
                let (code, message) = TwilioBodies.scripted(status: scripted.status)
                return Self.error(scripted.status, code: scripted.code ?? code, message, headers: headers)
            }
            if let created { return Self.response(201, TwilioBodies.callJSON(created)) }
        }
        guard !to.isEmpty else { return Self.error(400, code: 21201, "No 'To' number is specified") }
        guard !from.isEmpty else { return Self.error(400, code: 21213, "No 'From' number is specified") }
        guard !url.isEmpty else {
            return Self.error(400, code: 21205, "Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml")
        }
        guard TwilioBodies.isE164(from), from != "+15005550001" else {
            return Self.error(400, code: 21212, "From is not a valid phone number: \(from)")
        }
        guard TwilioBodies.isE164(to) else {
            return Self.error(400, code: 21211, "The 'To' number \(to) is not a valid phone number.")
        }
        switch to {
        case "+15005550001": return Self.error(400, code: 21217, "Phone number does not appear to be valid")
        case "+15005550002": return Self.error(400, code: 21214, "'To' phone number cannot be reached")
        case "+15005550003":
            return Self.error(400, code: 21215, "Account not authorized to call \(to). Perhaps you need to enable some international permissions: https://www.twilio.com/console/voice/calls/geo-permissions/low-risk")
        case "+15005550004": return Self.error(400, code: 21216, "Account not allowed to call \(to)")
        default: break
        }
        let call = await create(account: account, to: to, from: from, url: url, form: form, callbacks: callbacks)
        return Self.response(201, TwilioBodies.callJSON(call), headers: [("Twilio-Concurrent-Requests", "1")])
    }

    /// Creates the call in the ledger (queued behind the account's calls per second) and schedules its status callbacks.
    private func create(account: String, to: String, from: String, url: String, form: [String: [String]], callbacks: StatusCallbacks) async
        -> FakeCall
    {
        let method = form["StatusCallbackMethod"]?.first?.uppercased() == "GET" ? "GET" : "POST"
        let call = await ledger.create(accountSID: account, to: to, from: from, url: url, statusCallback: form["StatusCallback"]?.first,
                                       statusCallbackMethod: method, statusCallbackEvents: form["StatusCallbackEvent"] ?? [],
                                       callsPerSecond: configuration.callsPerSecond)
        await callbacks.callCreated(call, outcome: await ledger.outcome(for: to))
        return call
    }

    /// `GET /2010-04-01/Accounts/{AccountSid}/Calls.json?To=&From=`: the ledger's calls of that account, newest first.
    func listCalls(_ request: Request, context: FakeTwilioRequestContext) async throws -> Response {
        guard authorized(request) else { return Self.error(401, code: 20003, "Authenticate") }
        let account = context.parameters.get("account") ?? ""
        let to = request.uri.queryParameters.get("To")
        let from = request.uri.queryParameters.get("From")
        let calls = await ledger.calls.filter { $0.accountSID == account && (to == nil || $0.to == to) && (from == nil || $0.from == from) }
        let list: [String: Any?] = [
            "calls": calls.reversed().map { TwilioBodies.call($0) as Any? }, "page": 0, "page_size": 50,
            "start": 0, "end": max(0, calls.count - 1), "first_page_uri": request.uri.description, "next_page_uri": nil,
            "previous_page_uri": nil, "uri": request.uri.description,
        ]
        return Self.response(200, TwilioBodies.json(list))
    }
}
