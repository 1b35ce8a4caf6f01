import ArgumentParser
import DialerCore

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a paused tenant or campaign: its parked jobs go back to the queue.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The tenant to resume.") var tenant: String
    @Option(help: "Resume only this campaign of the tenant.") var campaign: String?

    func run() async throws {
        let (tenant, campaign) = (tenant, campaign)
        let result = try await settings.withStore { try await $0.resume(tenant: tenant, campaign: campaign, by: operatorID) }
        print("resume: \(describe(tenant: tenant, campaign: campaign)) \(result.wasPaused ? "resumed" : "was not paused"); "
            + "\(result.unparked) job(s) back in the queue")
    }
}
