import ArgumentParser
import DialerCore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply the database migrations (idempotent; safe to run from several processes at once).")
    @OptionGroup var settings: SettingOptions

    func run() async throws {
        let migrations = try Migration.bundled()
        let applied = try await settings.setup().withStore(checkMigrations: false) { try await $0.migrate(migrations) }
        print(applied.isEmpty ? "migrations: up to date (\(migrations.count) applied earlier)" : "migrations: applied \(applied.map(\.name).joined(separator: ", "))")
    }
}
