import ArgumentParser
import DialerCore

struct DNCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc", abstract: "Do-not-call lists: import registry files, add, remove and check single numbers.",
        subcommands: [DNCImportCommand.self, DNCAddCommand.self, DNCRemoveCommand.self, DNCCheckCommand.self])

    /// Which list a `dnc` subcommand works on.
    struct ListOptions: ParsableArguments {
        @Option(help: "The tenant's own list instead of the global one.") var tenant: String?
        var list: DNCList { tenant.map(DNCList.tenant) ?? .global }
        var name: String { tenant.map { "tenant \($0)'s list" } ?? "the global list" }
    }
}
