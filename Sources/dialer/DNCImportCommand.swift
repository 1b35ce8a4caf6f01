import ArgumentParser
import DialerCore

struct DNCImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load registry files (one 10-digit number per line, per area code) with COPY, idempotently; reports rows added and removed.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var list: DNCCommand.ListOptions
    @Argument(help: "Files to load.") var files: [String]
    @Flag(help: "The files are change lists of deletions: remove their numbers.") var deletions = false
    @Flag(help: "The files are full lists for their area codes: numbers of those area codes missing from them are removed.") var full = false
    @Option(help: "Source recorded with each row.") var source = "registry"

    func run() async throws {
        guard !(deletions && full) else { throw invalidFlag("--full", "--deletions and --full do not go together.") }
        guard !files.isEmpty else { throw invalidFlag("FILE", "name at least one file to import.") }
        // Every file must open before any is loaded: a typo in the last name must not leave the lists half updated.
        for file in files { _ = try InputFile.openForReading(file, what: "the do-not-call file") }
        let (files, target, source, deletions, full, name) = (files, list.list, source, deletions, full, list.name)
        try await settings.withStore { store in
            for file in files {
                let result = try await store.importDNC(FileLines(path: file), into: target, source: source, deletions: deletions, fullList: full)
                print("dnc import \(file) into \(name): read=\(result.read) added=\(result.added) removed=\(result.removed) "
                    + "rejected=\(result.rejected)"
                    + (result.rejectedLines.isEmpty ? "" : " (lines \(result.rejectedLines.map(String.init).joined(separator: ", ")))"))
            }
        }
    }
}
