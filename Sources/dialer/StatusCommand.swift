import ArgumentParser
import DialerCore

struct StatusCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "The queue at a glance: jobs by state, tenant and campaign, how late the oldest due job is, pauses, stuck leases, recent failures by code, table health; with --campaign, its calls of the last 24 h (attempts, outcome mix, answer rate, retries pending, leads exhausted, outcomes overdue).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Only this tenant.") var tenant: String?
    @Option(help: "Only this campaign.") var campaign: String?
    @Flag(help: "One JSON object for scripts.") var json = false

    func run() async throws {
        let (tenant, campaign) = (tenant, campaign)
        let (rows, facts, calls) = try await settings.withStore { store in
            (try await store.status(tenant: tenant, campaign: campaign), try await store.statusFacts(),
             try await campaign.asyncMap { try await store.callReport(tenant: tenant, campaign: $0) })
        }
        let report = StatusReport(rows: rows, facts: facts, calls: calls)
        print(json ? report.jsonText : report.table, terminator: json ? "\n" : "")
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
