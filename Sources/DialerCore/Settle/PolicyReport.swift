import Foundation

/// A campaign's policy as operators read it, in `dialer campaign show` and the console: one owner of that shape.
public enum PolicyReport {
    /// The effective policy of a campaign (its tenant's defaults when `campaign` is nil): each value, where it comes
    /// from (`campaign`, `tenant`, `default`), the outcome deadline, and who changed it last.
    public static func json(_ stored: [StoredPolicy], tenant: String, campaign: String?) -> JSONValue {
        let tenantRow = stored.first { $0.tenantID == tenant && $0.campaignID == "" }
        let campaignRow = campaign.flatMap { key in stored.first { $0.tenantID == tenant && $0.campaignID == key } }
        let effective = CampaignPolicy.resolve(campaign: campaignRow?.overrides, tenant: tenantRow?.overrides)
        let campaignFields = campaignRow?.overrides.json ?? [:], tenantFields = tenantRow?.overrides.json ?? [:]
        var sources: [String: JSONValue] = [:]
        for key in effective.asOverrides.json.keys {
            sources[key] = campaignFields[key] != nil ? "campaign" : tenantFields[key] != nil ? "tenant" : "default"
        }
        let row = campaignRow ?? tenantRow
        var report: [String: JSONValue] = ["tenant": .string(tenant), "policy": .object(effective.asOverrides.json), "sources": .object(sources)]
        report["campaign"] = campaign.map(JSONValue.string) ?? .null
        report["outcome_deadline_seconds"] = .number(effective.outcomeDeadline(grace: .zero).seconds)
        report["updated_at"] = row.map { JSONValue.string(DialGate.iso($0.updatedAt)) } ?? .null
        report["updated_by"] = row.map { JSONValue.string($0.updatedBy) } ?? .null
        return .object(report)
    }
}
