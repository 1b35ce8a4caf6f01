import Foundation
import Hummingbird
import NIOCore

extension FakeTwilio {
    /// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json`, validated in Twilio's order (twilio.md section 6): the
    /// credentials (401/20003), the account in the path (404/20404), then a scripted fault if any, then To (21201), From
    /// (21213), Url (21205), From's format (21212), From's ownership (21210), To's format (21211), with the test
    /// credentials the magic numbers (section 4), then the options Twilio validates (``CallOptions/parse(_:)``).
    func createCall(_ request: Request, context: FakeTwilioRequestContext, callbacks: StatusCallbacks) async throws -> Response {
        guard let credential = await credential(request) else { return Self.error(401, code: 20003, "Authenticate") }
        let account = context.parameters.get("account") ?? ""
        let test = credential == .test
        if case .account(let own) = credential, own != account { return Self.error(401, code: 20003, "Authenticate") }
        guard await credential.reaches(account, in: self) else {
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
                // Twilio fails after creating it: whatever options it could read, the call has.
                let options = (try? CallOptions.parse(form).get()) ?? CallOptions()
                created = await create(account: account, to: to, from: from, url: url, form: form, options: options, test: test, callbacks: callbacks)
            }
            if let delay = scripted.delayMilliseconds { try await Task.sleep(for: .milliseconds(delay)) }
            if scripted.resetConnection == true {
                await context.resetConnection()
                throw ConnectionResetByFake()
            }
            var headers: [(String, String)] = []
            if let retryAfter = scripted.retryAfter { headers.append(("Retry-After", retryAfter)) }
            if scripted.status != 201 {
                let (code, message) = TwilioBodies.scripted(status: scripted.status, code: scripted.code, to: to, from: from)
                return Self.error(scripted.status, code: code, message, headers: headers)
            }
            if let created { return Self.response(201, TwilioBodies.callJSON(created)) }
        }
        if let refusal = await refusal(account: account, to: to, from: from, url: url, test: test) { return refusal }
        let options: CallOptions
        switch CallOptions.parse(form) {
        case .success(let parsed): options = parsed
        case .failure(let refusal): return Self.error(400, code: refusal.code, refusal.message)
        }
        let call = await create(account: account, to: to, from: from, url: url, form: form, options: options, test: test, callbacks: callbacks)
        return Self.response(201, TwilioBodies.callJSON(call), headers: [("Twilio-Concurrent-Requests", "1")])
    }

    /// The 400 Twilio answers for these parameters, in its order; `nil` when the call can be created.
    private func refusal(account: String, to: String, from: String, url: String, test: Bool) async -> Response? {
        guard !to.isEmpty else { return Self.error(400, code: 21201, "No 'To' number is specified") }
        guard !from.isEmpty else { return Self.error(400, code: 21213, "No 'From' number is specified") }
        guard !url.isEmpty else {
            return Self.error(400, code: 21205, "Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml")
        }
        guard TwilioBodies.isE164(from), !(test && from == "+15005550001") else {
            return Self.error(400, code: 21212, TwilioBodies.message(code: 21212, to: to, from: from))
        }
        let owned = test ? from == "+15005550006" : await owns(account: account, number: from)
        guard owned else { return Self.error(400, code: 21210, TwilioBodies.message(code: 21210, to: to, from: from)) }
        guard TwilioBodies.isE164(to) else { return Self.error(400, code: 21211, TwilioBodies.message(code: 21211, to: to, from: from)) }
        if test, let code = ["+15005550001": 21217, "+15005550002": 21214, "+15005550003": 21215, "+15005550004": 21216][to] {
            return Self.error(400, code: code, TwilioBodies.message(code: code, to: to, from: from))
        }
        return nil
    }

    /// Creates the call in the ledger (queued behind the account's calls per second) and schedules its callbacks, signed
    /// with its account's auth token; a test-credentials call gets none (twilio.md section 4).
    private func create(account: String, to: String, from: String, url: String, form: [String: [String]], options: CallOptions, test: Bool,
                        callbacks: StatusCallbacks) async -> FakeCall
    {
        let call = await ledger.create(accountSID: account, to: to, from: from, url: url, statusCallback: form["StatusCallback"]?.first,
                                       options: options, configuration: configuration, test: test)
        if !test { await callbacks.callCreated(call, authToken: await authToken(of: account) ?? configuration.password) }
        return call
    }
}
