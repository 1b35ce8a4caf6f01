import Foundation
import Hummingbird

/// The filters of Read Calls (twilio.md section 1.4): `To`, `From`, `Status`, and `StartTime`/`EndTime` with their `<`
/// and `>` forms. A date (`YYYY-MM-DD`, UTC) means that whole day; a datetime (ISO 8601) that instant, to the second.
struct CallFilter: Sendable {
    enum Comparison: Sendable {
        case on, onOrAfter, onOrBefore
    }

    struct TimeBound: Sendable {
        let comparison: Comparison
        /// The instant, or the start of the day for a date.
        let instant: Date
        let isDate: Bool

        func admits(_ time: Date) -> Bool {
            let end = instant.addingTimeInterval(isDate ? 86_400 : 1)
            switch comparison {
            case .on: return time >= instant && time < end
            case .onOrAfter: return time >= instant
            case .onOrBefore: return time < end
            }
        }
    }

    var to: String?
    var from: String?
    var status: String?
    var startTime: [TimeBound] = []
    var endTime: [TimeBound] = []

    /// Whether `call` is in the answer at `now`. A call not yet started (queued) has no start time, so any StartTime
    /// bound leaves it out: the trap of twilio.md section 3.2.
    func matches(_ call: FakeCall, at now: Date) -> Bool {
        if let to, call.to != to { return false }
        if let from, call.from != from { return false }
        if let status, call.status(at: now) != status { return false }
        if !startTime.isEmpty {
            guard now >= call.startTime, startTime.allSatisfy({ $0.admits(call.startTime) }) else { return false }
        }
        if !endTime.isEmpty {
            guard now >= call.endTime, endTime.allSatisfy({ $0.admits(call.endTime) }) else { return false }
        }
        return true
    }

    /// The filter of a query string, or the name of the parameter that is not a date.
    static func parse(_ query: [String: [String]]) -> Result<CallFilter, InvalidParameter> {
        var filter = CallFilter(to: query["To"]?.first, from: query["From"]?.first, status: query["Status"]?.first)
        for (field, keyPath) in [("StartTime", \CallFilter.startTime), ("EndTime", \CallFilter.endTime)] {
            for (suffix, comparison) in [("", Comparison.on), (">", .onOrAfter), ("<", .onOrBefore)] {
                guard let text = query[field + suffix]?.first else { continue }
                guard let parsed = parseDate(text) else { return .failure(InvalidParameter(name: field + suffix, value: text)) }
                filter[keyPath: keyPath].append(TimeBound(comparison: comparison, instant: parsed.date, isDate: parsed.isDate))
            }
        }
        return .success(filter)
    }

    struct InvalidParameter: Error {
        let name: String
        let value: String
    }

    /// `YYYY-MM-DD` (UTC midnight) or an ISO 8601 datetime, with or without fractional seconds.
    static func parseDate(_ text: String) -> (date: Date, isDate: Bool)? {
        let utc = TimeZone(identifier: "UTC")!
        if text.count == 10 {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = utc
            formatter.formatOptions = [.withFullDate, .withDashSeparatorInDate]
            return formatter.date(from: text).map { ($0, true) }
        }
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = utc
        if let date = formatter.date(from: text) { return (date, false) }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text).map { ($0, false) }
    }
}

extension FakeTwilio {
    /// `GET /2010-04-01/Accounts/{AccountSid}/Calls.json`: the account's calls that match the filters, newest first,
    /// `PageSize` at a time (at most 1,000; the configured default when absent), with `next_page_uri` until the last
    /// page. `PageToken` (`PA` + the last SID of the page before, as `next_page_uri` gives it) keeps pages stable while
    /// calls are created; `Page` alone counts pages from the newest call.
    func listCalls(_ request: Request, context: FakeTwilioRequestContext) async throws -> Response {
        let account = context.parameters.get("account") ?? ""
        if let refused = await refuseRead(request, account: account) { return refused }
        let query = TwilioBodies.form(request.uri.query ?? "")
        let filter: CallFilter
        switch CallFilter.parse(query) {
        case .success(let parsed): filter = parsed
        case .failure(let invalid):
            // Twilio's code for a malformed filter is not documented; 20422 is its "Invalid Parameter".
            return Self.error(400, code: 20422,
                              "Invalid value for \(invalid.name): \(invalid.value) is not a date (YYYY-MM-DD) or an ISO 8601 datetime")
        }
        let pageSize = min(1000, max(1, query["PageSize"]?.first.flatMap { Int($0) } ?? configuration.defaultPageSize))
        let pageNumber = max(0, query["Page"]?.first.flatMap { Int($0) } ?? 0)
        let token = query["PageToken"]?.first.flatMap { $0.hasPrefix("PA") ? String($0.dropFirst(2)) : nil }
        let page = await ledger.page(account: account, filter: filter, after: token, skip: token == nil ? pageNumber * pageSize : 0, size: pageSize)

        let path = "/2010-04-01/Accounts/\(account)/Calls.json"
        let filters = query.filter { !["PageSize", "Page", "PageToken"].contains($0.key) }.sorted { $0.key < $1.key }
            .flatMap { key, values in values.map { (key, $0) } }
        func uri(page: Int, token: String?) -> String {
            var fields = filters + [("PageSize", String(pageSize)), ("Page", String(page))]
            if let token { fields.append(("PageToken", "PA" + token)) }
            return path + "?" + TwilioBodies.formEncoded(fields)
        }
        let start = pageNumber * pageSize
        var body = "{\"calls\":["
        for (i, call) in page.calls.enumerated() {
            if i > 0 { body += "," }
            body += TwilioBodies.callJSON(call, at: page.now)
        }
        body += "],\"end\":\(start + max(0, page.calls.count - 1)),\"first_page_uri\":"
        TwilioBodies.quote(uri(page: 0, token: nil), into: &body)
        body += ",\"next_page_uri\":"
        if page.hasMore, let last = page.calls.last {
            TwilioBodies.quote(uri(page: pageNumber + 1, token: last.sid), into: &body)
        } else {
            body += "null"
        }
        body += ",\"page\":\(pageNumber),\"page_size\":\(pageSize),\"previous_page_uri\":"
        if pageNumber > 0 { TwilioBodies.quote(uri(page: pageNumber - 1, token: nil), into: &body) } else { body += "null" }
        body += ",\"start\":\(start),\"uri\":"
        TwilioBodies.quote(request.uri.description, into: &body)
        body += "}"
        await ledger.listServed()
        return Self.response(200, body)
    }

    /// `GET /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json`: one call as it is now; 404/20404 when the account
    /// has no such call.
    func fetchCall(_ request: Request, context: FakeTwilioRequestContext) async throws -> Response {
        let account = context.parameters.get("account") ?? ""
        if let refused = await refuseRead(request, account: account) { return refused }
        guard let sid = context.parameters.get("call"), let found = await ledger.call(sid: sid, account: account) else {
            return Self.error(404, code: 20404, "The requested resource \(request.uri.path) was not found")
        }
        return Self.response(200, TwilioBodies.callJSON(found.call, at: found.now))
    }

    /// The refusal of a read, if any: bad credentials 401/20003, test credentials 403/20008 (only Create Call accepts
    /// them), an account the credentials do not reach 404/20404, an account's own credentials on another account
    /// 401/20003 (as Twilio answers a subaccount's credentials used on its parent, twilio.md section 1.1).
    func refuseRead(_ request: Request, account: String) async -> Response? {
        switch await credential(request) {
        case nil: return Self.error(401, code: 20003, "Authenticate")
        case .test: return Self.error(403, code: 20008, "Resource not accessible with Test Account Credentials")
        case .account(let own) where own != account: return Self.error(401, code: 20003, "Authenticate")
        case .live, .account:
            guard await knows(account: account) else {
                return Self.error(404, code: 20404, "The requested resource \(request.uri.path) was not found")
            }
            return nil
        }
    }
}

extension FakeTwilioLedger {
    /// One page of an account's calls matching `filter`, newest first, after the call `after` (a SID) or skipping
    /// `skip` matches; `hasMore` says whether a next page exists. Computed here so the ledger is never copied.
    func page(account: String, filter: CallFilter, after: String?, skip: Int, size: Int) -> (calls: [FakeCall], hasMore: Bool, now: Date) {
        let now = now()
        var index = calls.count - 1
        if let after {
            guard let cursor = calls.lastIndex(where: { $0.sid == after }) else { return ([], false, now) }
            index = cursor - 1
        }
        var skipped = 0
        var page: [FakeCall] = []
        while index >= 0 {
            let call = calls[index]
            index -= 1
            guard call.accountSID == account, filter.matches(call, at: now) else { continue }
            if skipped < skip {
                skipped += 1
                continue
            }
            if page.count == size { return (page, true, now) }
            page.append(call)
        }
        return (page, false, now)
    }
}
