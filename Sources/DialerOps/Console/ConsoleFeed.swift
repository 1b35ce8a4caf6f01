import DialerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The numbers the console's live pages follow: each campaign's fields (``CampaignSummary/fields``) from the
/// maintained counters (two statements: the job counts, then the activity of the campaigns they name), read at most once a second per scope (all tenants, or one) however many viewers watch, and
/// shared between them. A viewer costs a dictionary lookup a second, not a query.
actor ConsoleFeed {
    static let interval: Duration = .seconds(1)
    private let store: JobStore
    private var cache: [String: (at: ContinuousClock.Instant, fields: [String: [String: String]])] = [:]

    init(store: JobStore) { self.store = store }

    /// Every visible campaign's fields, by `tenant/campaign`: from the cache when it is under a second old.
    func fields(tenant: String?) async throws -> [String: [String: String]] {
        let key = tenant ?? ""
        let now = ContinuousClock.now
        if let cached = cache[key], now - cached.at < Self.interval { return cached.fields }
        var fields: [String: [String: String]] = [:]
        for summary in try await store.campaignSummaries(tenant: tenant) {
            fields["\(summary.counts.tenantID)/\(summary.counts.campaignID)"] = summary.fields
        }
        cache[key] = (now, fields)
        if cache.count > 1_000 { cache = cache.filter { now - $0.value.at < Self.interval } }
        return fields
    }
}

extension JobStore {
    /// Every visible campaign's summary: its job counts and its activity.
    func campaignSummaries(tenant: String?) async throws -> [CampaignSummary] {
        let overview = try await campaignOverview(tenant: tenant)
        let activity = try await campaignActivity(overview.map { CampaignKey(tenantID: $0.tenantID, campaignID: $0.campaignID) })
        let now = Date()
        return overview.map { CampaignSummary(counts: $0, activity: activity[CampaignKey(tenantID: $0.tenantID, campaignID: $0.campaignID)], now: now) }
    }
}

extension ConsoleRoute {
    /// A live stream lasts at most this long; the browser's EventSource reconnects on its own (`retry: 1000`), which
    /// also re-checks the session, and a shutting-down server is never held open by a viewer.
    static let liveLifetime: Duration = .seconds(55)

    /// `GET /console/live?view=campaigns` or `view=campaign/TENANT/CAMPAIGN`: server-sent events, one `data:` JSON
    /// object `{campaigns: {"tenant/campaign": {field: text}}}` when something changed, at most once a second; with
    /// `once=1` one JSON answer (the polling fallback).
    func live(_ request: Request) async -> Response {
        await page(request) { session in
            let view = request.uri.queryParameters["view"].map(String.init) ?? "campaigns"
            guard let only = Self.liveScope(view, session: session) else {
                throw OpenPhnError(.notFound, "No live view is named '\(view.prefix(80))'.")
            }
            let scopeTenant = session.account.tenantID
            let feed = self.feed
            @Sendable func snapshot() async throws -> String {
                var fields = try await feed.fields(tenant: scopeTenant)
                if let key = only.campaign { fields = fields.filter { $0.key == key } }
                return JSONValue.object(["campaigns": .object(fields.mapValues { .object($0.mapValues(JSONValue.string)) })]).jsonText
            }
            if request.uri.queryParameters["once"] == "1" {
                var response = Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: try await snapshot())))
                for (name, value) in Self.securityHeaders { response.headers[name] = value }
                return response
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream"
            for (name, value) in Self.securityHeaders { headers[name] = value }
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "retry: 1000\n\n"))
                let deadline = ContinuousClock.now + Self.liveLifetime
                var last = ""
                while ContinuousClock.now < deadline, !Task.isCancelled, !Task.isShuttingDownGracefully {
                    guard let text = try? await snapshot() else { break }
                    if text != last {
                        try await writer.write(ByteBuffer(string: "data: \(text)\n\n"))
                        last = text
                    }
                    do { try await Task.sleep(for: ConsoleFeed.interval) } catch { break }
                }
                try await writer.finish(nil)
            })
        }
    }

    /// What a live view follows: every visible campaign (`campaign` nil) or one (`tenant/campaign`).
    struct LiveScope: Sendable { let campaign: String? }

    /// The scope of a view, or nil for a view that does not exist or names a tenant the operator may not see.
    static func liveScope(_ view: String, session: ConsoleSession) -> LiveScope? {
        if view == "campaigns" { return LiveScope(campaign: nil) }
        let parts = view.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "campaign", !parts[1].isEmpty, !parts[2].isEmpty, session.account.sees(tenant: String(parts[1])) else { return nil }
        return LiveScope(campaign: "\(parts[1])/\(parts[2])")
    }
}
