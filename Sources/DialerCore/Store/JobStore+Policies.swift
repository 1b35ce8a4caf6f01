import Foundation
import Logging
import PostgresNIO

/// One `campaign_policies` row: a campaign's overrides, or the tenant's defaults (`campaignID` empty).
public struct StoredPolicy: Sendable, Hashable {
    public let tenantID: String
    /// `""` for the tenant's defaults.
    public let campaignID: String
    public let overrides: CampaignPolicy.Overrides
    public let updatedBy: String
    public let updatedAt: Date
}

extension JobStore {
    /// Every stored policy row (a small table: one row per campaign with a policy of its own).
    public func policies(tenant: String? = nil) async throws -> [StoredPolicy] {
        let rows = try await client.query("""
            SELECT tenant_id, campaign_id, policy::text, updated_by, updated_at FROM campaign_policies
            WHERE \(tenant ?? "") = '' OR tenant_id = \(tenant ?? "")
            ORDER BY tenant_id, campaign_id
            """, logger: logger)
        var policies: [StoredPolicy] = []
        for try await (tenant, campaign, json, by, at) in rows.decode((String, String, String, String, Date).self) {
            // A row this build cannot read (edited by hand) falls back to the defaults rather than stopping the dialer.
            let overrides = (try? JSONDecoder().decode(CampaignPolicy.Overrides.self, from: Data(json.utf8))) ?? CampaignPolicy.Overrides()
            policies.append(StoredPolicy(tenantID: tenant, campaignID: campaign, overrides: overrides, updatedBy: by, updatedAt: at))
        }
        return policies
    }

    /// Sets the fields of `overrides` on the campaign's row (the tenant's defaults when `campaign` is empty), keeping
    /// the fields it does not name. The tenant must exist.
    /// - Returns: the row as stored.
    @discardableResult
    public func setPolicy(tenant: String, campaign: String, _ overrides: CampaignPolicy.Overrides, by actor: String) async throws -> StoredPolicy {
        try overrides.validate()
        let existing = try await policies(tenant: tenant).first { $0.campaignID == campaign }?.overrides ?? CampaignPolicy.Overrides()
        let merged = existing.updated(with: overrides)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(merged), as: UTF8.self)
        let rows = try await client.query("""
            INSERT INTO campaign_policies (tenant_id, campaign_id, policy, updated_by)
            SELECT id, \(campaign), \(json)::jsonb, \(actor) FROM tenants WHERE id = \(tenant)
            ON CONFLICT (tenant_id, campaign_id) DO UPDATE SET policy = excluded.policy, updated_by = excluded.updated_by, updated_at = now()
            RETURNING updated_at
            """, logger: logger)
        for try await at in rows.decode(Date.self) {
            return StoredPolicy(tenantID: tenant, campaignID: campaign, overrides: merged, updatedBy: actor, updatedAt: at)
        }
        throw OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant)])
    }
}
