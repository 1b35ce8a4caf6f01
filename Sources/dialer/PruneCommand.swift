import ArgumentParser
import DialerCore

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete finished jobs (dialed, failed, cancelled) and their attempts older than the retention period, in small batches.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Retention in days (default: DIALER_RETENTION_DAYS, or 90).") var olderThanDays: Int?
    @Option(help: "Jobs per batch; each batch is one short transaction.") var batch: Int = 1_000
    @Flag(help: "Count what would be deleted; delete nothing.") var dryRun = false

    func run() async throws {
        if let olderThanDays, olderThanDays < 1 {
            throw invalidFlag("--older-than-days", "--older-than-days must be at least 1, got \(olderThanDays).")
        }
        guard (1...50_000).contains(batch) else { throw invalidFlag("--batch", "--batch must be from 1 to 50000, got \(batch).") }
        let setup = try settings.setup()
        let configured = Int(setup.settings.operations.retention.seconds / 86_400)
        guard let days = olderThanDays ?? (configured > 0 ? configured : nil) else {
            throw invalidFlag("--older-than-days", "retention is off (DIALER_RETENTION_DAYS=0); name the age to prune with --older-than-days.")
        }
        let (batch, dryRun) = (batch, dryRun)
        let result = try await setup.withStore { try await $0.prune(olderThan: .seconds(86_400 * days), batchSize: batch, dryRun: dryRun) }
        print("prune\(dryRun ? " (dry run)" : ""): \(result.jobs) finished job(s) and \(result.attempts) attempt row(s) older than \(days) day(s) "
            + (dryRun ? "would be deleted" : "deleted in \(result.batches) batch(es)"))
    }
}
