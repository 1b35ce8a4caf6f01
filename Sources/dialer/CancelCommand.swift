import ArgumentParser
import DialerCore

struct CancelCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel waiting and paused jobs by id, tenant or campaign. Jobs being dialed or reconciled are left alone and counted.")
    @OptionGroup var settings: SettingOptions
    @Option(name: .customLong("job"), help: "A job id (repeatable).") var jobs: [Int64] = []
    @Option(help: "Every waiting job of this tenant.") var tenant: String?
    @Option(help: "Every waiting job of this campaign of the tenant.") var campaign: String?
    @Option(name: .customLong("state"), help: "Only waiting jobs in this state (repeatable): queued, deferred, retrying, paused.")
    var states: [String] = []
    @Flag(help: "Print what would be cancelled; change nothing.") var dryRun = false
    @Flag(help: "One JSON object for scripts.") var json = false

    func run() async throws {
        guard !jobs.isEmpty || tenant != nil || campaign != nil else {
            throw invalidFlag("--job", "Name what to cancel: --job, --tenant or --campaign.")
        }
        guard jobs.isEmpty || (tenant == nil && campaign == nil) else { throw invalidFlag("--job", "Use --job alone, or --tenant/--campaign.") }
        // Campaign ids are the tenants' own and may repeat across tenants: a cancel names the tenant too.
        guard campaign == nil || tenant != nil else { throw invalidFlag("--campaign", "--campaign needs --tenant (campaign ids are per tenant).") }
        let selection: JobSelection = jobs.isEmpty ? .scope(tenant: tenant, campaign: campaign) : .jobs(jobs)
        var filter: Set<JobState>?
        if !states.isEmpty {
            filter = []
            for name in states {
                guard let state = JobState(rawValue: name), JobStore.cancellableStates.contains(state) else {
                    throw invalidFlag("--state", "'\(name.prefix(40))' is not a waiting state: use queued, deferred, retrying or paused.")
                }
                filter?.insert(state)
            }
        }
        let (dryRun, only) = (dryRun, filter)
        let result = try await settings.withStore { try await $0.cancel(selection, states: only, by: operatorID, dryRun: dryRun) }
        if json {
            print(JSONValue.object([
                "dry_run": .bool(dryRun), "cancelled": .number(Double(result.cancelled)), "in_flight": .number(Double(result.inFlight)),
                "already_finished": .number(Double(result.alreadyFinished)), "left_waiting": .number(Double(result.leftWaiting)), "not_found": .array(result.notFound.map { .number(Double($0)) }),
            ]).jsonText)
            return
        }
        print("cancel\(dryRun ? " (dry run)" : ""): \(result.cancelled) job(s) \(dryRun ? "would be cancelled" : "cancelled"); "
            + "\(result.inFlight) being dialed or in doubt left alone; \(result.alreadyFinished) already finished"
            + (only == nil ? "" : "; \(result.leftWaiting) waiting in other states left alone")
            + (result.notFound.isEmpty ? "" : "; not found: \(result.notFound.map(String.init).joined(separator: ", "))"))
    }
}
