import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// What Twilio says about a call that may or may not exist.
public enum CallLookup: Sendable, Hashable {
    case found(callSID: String)
    case notFound
    /// Twilio did not answer usably; ask again later.
    case unreachable(String)
}

extension TwilioClient {
    /// Looks for a call from `from` to `to` created since `createdSince` (minus a few seconds of clock skew): the only
    /// key Twilio's Call resource offers, since it echoes neither our Url nor our StatusCallback. Two lists are read:
    /// calls started that day, and queued calls (their start_time is empty, so a StartTime filter misses them).
    public func findCall(subaccountSID: String, to: String, from: String, createdSince: Date, logger: Logger) async -> CallLookup {
        let since = createdSince.addingTimeInterval(-5)
        let day = ISO8601DateFormatter.string(from: since, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        let base = "\(configuration.baseURL)/2010-04-01/Accounts/\(subaccountSID)/Calls.json?To=\(FormEncoding.escape(to))&From=\(FormEncoding.escape(from))&PageSize=50"
        for first in [base + "&" + FormEncoding.escape("StartTime>") + "=" + day, base + "&Status=queued"] {
            var url: String? = first
            var pages = 0
            while let current = url, pages < 5 {
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
                if let match = page.calls.first(where: { call in
                    guard let created = call.date_created.flatMap(RetryAfter.httpDate) ?? call.date_created.flatMap(Self.rfc2822) else { return true }
                    return created >= since
                }) {
                    return .found(callSID: match.sid)
                }
                url = page.next_page_uri.map { configuration.baseURL + $0 }
            }
        }
        return .notFound
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
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.date(from: text)
    }
}
