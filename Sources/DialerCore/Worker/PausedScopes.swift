import Synchronization

/// The paused tenants and campaigns as this worker last read them (`queue_pauses`), refreshed whenever `pause` or
/// `resume` notifies (``JobStore/pausesChanged``) and whenever the worker's LISTEN connection is made. The claim already
/// skips paused scopes; this is for the jobs claimed just before a pause and still waiting for their pacing slot:
/// they are handed back (attempt refunded) instead of dialed, so a pause stops a campaign's dials within moments, not
/// a claim batch later.
final class PausedScopes: Sendable {
    private let scopes = Mutex<Set<String>>([])

    private static func key(_ tenant: String, _ campaign: String) -> String { tenant + "\u{1F}" + campaign }

    func replace(with pauses: [QueuePause]) {
        let keys = Set(pauses.map { Self.key($0.tenantID, $0.campaignID ?? "") })
        scopes.withLock { $0 = keys }
    }

    /// Whether the tenant, or the job's campaign of it, is paused.
    func covers(tenant: String, campaign: String?) -> Bool {
        scopes.withLock { scopes in
            !scopes.isEmpty && (scopes.contains(Self.key(tenant, "")) || campaign.map { scopes.contains(Self.key(tenant, $0)) } == true)
        }
    }
}
