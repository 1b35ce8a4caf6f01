/// SQL fragments more than one statement of the store shares, written once.
extension JobStore {
    /// Whether the job row `alias` is in a paused scope (its tenant, or its campaign, has a `queue_pauses` row).
    /// A primary-key probe, cheap enough for the claim; an empty campaign stands for "no campaign".
    static func scopePaused(_ alias: String) -> String {
        "EXISTS (SELECT 1 FROM queue_pauses p WHERE p.tenant_id = \(alias).tenant_id AND p.campaign_id IN ('', coalesce(\(alias).campaign_id, '')))"
    }

    /// A one-row query: `dials`, the tenant's dials to the destination in the last 24 hours (every attempt that got a
    /// call SID or may have reached Twilio), and `oldest`, the first of them: what the frequency caps count.
    /// - Parameters: tenant, destination: SQL expressions (columns of the enclosing query).
    static func recentDials(tenant: String, destination: String) -> String {
        """
        SELECT count(*)::bigint AS dials, min(a.recorded_at) AS oldest
        FROM call_jobs j2 JOIN call_attempts a ON a.job_id = j2.id
        WHERE j2.tenant_id = \(tenant) AND j2.destination = \(destination)
          AND a.kind = 'dial' AND (a.outcome = 'dialed' OR a.possibly_dialed) AND a.recorded_at > now() - interval '24 hours'
        """
    }
}
