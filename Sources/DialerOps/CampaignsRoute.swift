import DialerCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A tenant's campaigns over `/v1`: `GET /v1/campaigns/{campaign_id}` (`calls:read`) reads its counts by state and its
/// outcome mix from the maintained counters (``JobStore/campaignCounts(tenant:campaign:)``, never a `count(*)` over
/// the live table); `POST /v1/campaigns/{campaign_id}/pause` and `/resume` (`campaigns:write`) park and unpark its
/// waiting jobs as `dialer pause` and `dialer resume` do (dials in flight finish). Another tenant's campaign is 404.
struct CampaignsRoute: Sendable {
    let store: JobStore
    let gateway: APIGateway
    let logger: Logger

    /// The states a campaign's summary groups its counts into.
    static let waiting: Set<String> = ["queued", "deferred", "retrying", "paused"]
    static let inProgress: Set<String> = ["active", "in_doubt", "awaiting_outcome"]

    func read(_ request: Request, id: String) async -> Response {
        await gateway.handle(request, route: "GET /v1/campaigns/{campaign_id}", scopes: [.callsRead]) { key, _ in
            let campaign = try Self.campaignID(id)
            guard let counts = try await store.campaignCounts(tenant: key.tenantID, campaign: campaign) else {
                throw OpenPhnError(.notFound, "No campaign has the id '\(campaign.prefix(40))'.")
            }
            return .json(Self.resource(counts), status: .ok)
        }
    }

    func pause(_ request: Request, id: String, pausing: Bool) async -> Response {
        let route = pausing ? "POST /v1/campaigns/{campaign_id}/pause" : "POST /v1/campaigns/{campaign_id}/resume"
        return await gateway.handle(request, route: route, scopes: [.campaignsWrite], maxBody: 16 * 1024) { key, body in
            let campaign = try Self.campaignID(id)
            var reason = ""
            if body.readableBytes > 0 {
                let fields = try CallsRoute.jsonObject(body)
                for name in fields.keys.sorted() where name != "reason" || !pausing {
                    throw OpenPhnError(.invalidRequest, "Unknown field '\(name.prefix(40))'.", details: ["field": .string(String(name.prefix(40)))])
                }
                if let value = fields["reason"] {
                    guard case .string(let text) = value, text.count <= 500 else {
                        throw OpenPhnError(.invalidRequest, "reason must be a string of at most 500 characters.", details: ["field": "reason"])
                    }
                    reason = text
                }
            }
            var answer: [String: JSONValue] = ["id": .string(campaign)]
            if pausing {
                let result = try await store.pause(tenant: key.tenantID, campaign: campaign, reason: reason, by: "api:\(key.id)")
                answer["paused"] = true
                answer["newly_paused"] = .bool(result.newlyPaused)
                answer["parked"] = .number(Double(result.parked))
            } else {
                let result = try await store.resume(tenant: key.tenantID, campaign: campaign, by: "api:\(key.id)")
                answer["paused"] = false
                answer["was_paused"] = .bool(result.wasPaused)
                answer["unparked"] = .number(Double(result.unparked))
            }
            logger.notice(pausing ? "campaign paused over the API" : "campaign resumed over the API",
                          metadata: ["key.id": "\(key.id)", "campaign": "\(campaign)"])
            return .json(.object(answer), status: .ok)
        }
    }

    /// A campaign id from a path segment (still percent-encoded) or a query parameter (decoded already).
    static func campaignID(_ text: String, percentEncoded: Bool = true) throws(OpenPhnError) -> String {
        let id = percentEncoded ? text.removingPercentEncoding ?? text : text
        guard !id.isEmpty, id.count <= 128, !id.utf8.contains(0) else {
            throw OpenPhnError(.invalidRequest, "campaign_id must be 1 to 128 characters, without NUL.", details: ["field": "campaign_id"])
        }
        return id
    }

    static func resource(_ counts: CampaignCounts) -> JSONValue {
        func sum(_ states: Set<String>) -> Int { counts.states.filter { states.contains($0.key) }.values.reduce(0, +) }
        let waiting = sum(waiting), inProgress = sum(inProgress)
        let id = counts.campaignID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? counts.campaignID
        return .object([
            "id": .string(counts.campaignID), "paused": .bool(counts.paused), "total": .number(Double(counts.total)),
            "waiting": .number(Double(waiting)), "in_progress": .number(Double(inProgress)),
            "finished": .number(Double(counts.total - waiting - inProgress)),
            "states": .object(counts.states.mapValues { .number(Double($0)) }),
            "outcomes": .object(counts.outcomes.mapValues { .number(Double($0)) }),
            "links": .object([
                "self": .string("/v1/campaigns/\(id)"), "calls": .string("/v1/calls?campaign_id=\(id)"),
                "pause": .string("/v1/campaigns/\(id)/pause"), "resume": .string("/v1/campaigns/\(id)/resume"),
            ]),
        ])
    }
}
