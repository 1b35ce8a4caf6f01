import ArgumentParser
import DialerCore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations (idempotent; safe to run from several processes at once).")
    @OptionGroup var settings: SettingOptions

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let migrations = try Migration.bundled()
        let applied = try await withDatabase(loaded, logger: logger) { try await $0.migrate(migrations) }
        print(applied.isEmpty ? "migrations: up to date (\(migrations.count) applied earlier)" : "migrations: applied \(applied.map(\.name).joined(separator: ", "))")
    }
}
