import ArgumentParser
import DialerCore

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Pause a tenant or one of its campaigns: its waiting jobs are parked and not claimed until resumed; dials in flight finish.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The tenant to pause (or whose campaign to pause).") var tenant: String
    @Option(help: "Pause only this campaign of the tenant.") var campaign: String?
    @Option(help: "Why (shown by `dialer status`).") var reason: String = ""

    func run() async throws {
        let (tenant, campaign, reason) = (tenant, campaign, reason)
        let result = try await settings.withStore { try await $0.pause(tenant: tenant, campaign: campaign, reason: reason, by: operatorID) }
        print("pause: \(describe(tenant: tenant, campaign: campaign)) \(result.newlyPaused ? "paused" : "was already paused"); "
            + "\(result.parked) waiting job(s) parked")
    }
}
