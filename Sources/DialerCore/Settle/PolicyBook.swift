import Logging

/// The campaign policies, read from `campaign_policies` and kept for `maxAge`: the worker asks for a job's policy on
/// every dial (ring time, time limit, machine detection) and the settler on every outcome, so neither reads the table
/// per call. A change is seen within `maxAge` by every process. When the table cannot be read, the last copy (or the
/// defaults) is used and the read is tried again at the next ask.
public actor PolicyBook {
    private let store: JobStore
    private let maxAge: Duration
    private let logger: Logger
    private var rows: [Key: CampaignPolicy.Overrides] = [:]
    private var loadedAt: ContinuousClock.Instant?
    private var loading: Task<Void, Never>?

    private struct Key: Hashable {
        let tenant: String
        let campaign: String
    }

    public init(store: JobStore, maxAge: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.maxAge = maxAge
        self.logger = logger
    }

    /// The effective policy of a job: its campaign's fields, else its tenant's, else the defaults.
    public func policy(tenant: String, campaign: String?) async -> CampaignPolicy {
        await refreshIfStale()
        return CampaignPolicy.resolve(campaign: campaign.flatMap { rows[Key(tenant: tenant, campaign: $0)] },
                                      tenant: rows[Key(tenant: tenant, campaign: "")])
    }

    private func refreshIfStale() async {
        if let loadedAt, ContinuousClock.now - loadedAt < maxAge { return }
        if let loading { return await loading.value }
        let task = Task { await self.load() }
        loading = task
        await task.value
        loading = nil
    }

    private func load() async {
        do {
            let policies = try await store.policies()
            rows = Dictionary(policies.map { (Key(tenant: $0.tenantID, campaign: $0.campaignID), $0.overrides) }, uniquingKeysWith: { $1 })
            loadedAt = .now
        } catch {
            logger.warning("reading campaign policies failed; using the last copy", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
