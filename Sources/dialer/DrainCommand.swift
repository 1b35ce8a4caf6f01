import ArgumentParser
import DialerCore
import Foundation

struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Process every job due now, then exit 0. A progress bar on a terminal, plain lines otherwise.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Also wait for retries and deferrals that fall due within this many seconds.")
    var waitForRetries: Int = 0
    @Option(help: "Only this tenant's jobs.") var tenant: String?
    @Option(help: "Only this campaign's jobs.") var campaign: String?

    func run() async throws {
        guard waitForRetries >= 0 else {
            throw invalidFlag("--wait-for-retries", "--wait-for-retries must be 0 or more seconds, got \(waitForRetries).")
        }
        var setup = try settings.setup(requireTwilio: true)
        setup.settings.worker.tenantScope = tenant
        setup.settings.worker.campaignScope = campaign
        let (tenant, campaign) = (tenant, campaign)
        let due = try await setup.withStore { try await $0.dueCount(tenant: tenant, campaign: campaign) }
        let stats = WorkerStats()
        let started = ContinuousClock.now
        let progress = DrainProgress(total: due, stats: stats, started: started)
        let slice = [tenant.map { "tenant \($0)" }, campaign.map { "campaign \($0)" }].compactMap { $0 }.joined(separator: ", ")
        print("drain: \(due) job(s) due now" + (slice.isEmpty ? "" : " (\(slice))"))
        let wait: Duration? = waitForRetries > 0 ? .seconds(waitForRetries) : nil
        try await withThrowingTaskGroup(of: Void.self) { [setup] group in
            group.addTask { await progress.run() }
            try await setup.runWorker(mode: .drain(waitForScheduled: wait), stats: stats)
            group.cancelAll()
        }
        progress.finish()
        let counts = stats.snapshot
        let elapsed = (ContinuousClock.now - started).seconds
        print(String(format: "drain: done in %.1fs: claimed=%d dialed=%d retried=%d failed=%d deferred=%d released=%d",
                     elapsed, counts.claimed, counts.dialed, counts.retried, counts.failed, counts.deferred, counts.released))
        for (code, count) in counts.failedByCode.sorted(by: { $0.key < $1.key }) { print("drain:   failed \(code): \(count)") }
    }
}
