import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// What Twilio says about a call that may or may not exist.
public enum CallLookup: Sendable, Hashable {
    case found(callSID: String)
    case notFound
    /// Twilio did not answer usably, or not completely; ask again later.
    case unreachable(String)

    /// The job's call among `newestFirst`, every call of the window (see ``TwilioClient/listCalls(subaccountSID:to:from:createdSince:logger:)``):
    /// the oldest whose SID no other job recorded. A SID another job holds is that job's call, not this one's; with
    /// none left, no call of this job exists and a re-dial rings the person only once more for this job.
    public static func choose(newestFirst: [String], recordedOnOtherJobs: Set<String>) -> CallLookup {
        guard let sid = newestFirst.last(where: { !recordedOnOtherJobs.contains($0) }) else { return .notFound }
        return .found(callSID: sid)
    }
}

/// Twilio's calls from one number to another in a window, or why they could not all be read.
public enum CallListing: Sendable, Hashable {
    /// Every call of the window, newest first.
    case calls([String])
    /// No complete answer: a failed request, an unreadable page, or more pages than the cap before the window's start.
    case unreachable(String)
}

extension TwilioClient {
    /// Every call from `from` to `to` created since `createdSince` (minus a few seconds of clock skew), whatever its
    /// status. To and From are the only key Twilio's Call resource offers (it echoes neither our Url nor our
    /// StatusCallback), and one query with no status or time filter is the only one that cannot miss a call: a
    /// queued call has no start time and leaves the queue at any moment, so a StartTime query and a Status=queued
    /// query can both miss it between them.
    ///
    /// Twilio lists calls newest first: pages (``TwilioConfiguration/callListPageSize``, following `next_page_uri`)
    /// are read until a whole page was created before the window, or the last page. A window longer than
    /// ``TwilioConfiguration/callListMaxPages`` pages is `.unreachable`, never an empty answer: "no call" means re-dial.
    public func listCalls(subaccountSID: String, to: String, from: String, createdSince: Date, logger: Logger) async -> CallListing {
        let since = createdSince.addingTimeInterval(-5)
        var url: String? = "\(configuration.baseURL)/2010-04-01/Accounts/\(subaccountSID)/Calls.json?To=\(FormEncoding.escape(to))"
            + "&From=\(FormEncoding.escape(from))&PageSize=\(configuration.callListPageSize)"
        var calls: [String] = []
        var pages = 0
        while let current = url {
            guard pages < configuration.callListMaxPages else {
                return .unreachable("more than \(configuration.callListMaxPages) pages of calls since \(since); the window was not read to its start")
            }
            pages += 1
            var request = HTTPClientRequest(url: current)
            request.method = .GET
            request.headers.add(name: "Authorization", value: authorization.value)
            request.headers.add(name: "Accept", value: "application/json")
            let body: ByteBuffer
            do {
                let response = try await http.execute(request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds), logger: logger)
                body = try await response.body.collect(upTo: 4 * 1024 * 1024)
                guard response.status == .ok else { return .unreachable("HTTP \(response.status.code)") }
            } catch {
                return .unreachable(TransportFailure.describe(error))
            }
            guard let page = try? JSONDecoder().decode(CallPage.self, from: Data(String(buffer: body).utf8)) else {
                return .unreachable("unreadable call list")
            }
            var older = 0
            for call in page.calls {
                // A date that does not parse counts as in the window: a call wrongly adopted is safer than one dialed twice.
                if let created = call.date_created.flatMap(RetryAfter.httpDate) ?? call.date_created.flatMap(Self.rfc2822), created < since {
                    older += 1
                } else {
                    calls.append(call.sid)
                }
            }
            // A page wholly older than the window ends the reading. Not the first older call: the order is Twilio's, and
            // one call out of place must not cut the window short (a missed call is a second ring).
            if !page.calls.isEmpty, older == page.calls.count { return .calls(calls) }
            url = page.next_page_uri.map { configuration.baseURL + $0 }
        }
        return .calls(calls)
    }

    struct CallPage: Decodable {
        struct Call: Decodable {
            let sid: String
            let date_created: String?
        }
        let calls: [Call]
        let next_page_uri: String?
    }

    /// Twilio's `Tue, 31 Aug 2010 20:36:28 +0000`.
    static func rfc2822(_ text: String) -> Date? {
        if let date = InternetDate.parse(text) { return date }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: text)
    }
}
