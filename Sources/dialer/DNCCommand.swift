import ArgumentParser
import DialerCore
import Foundation

struct DNCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnc", abstract: "Do-not-call lists: import registry files, add, remove and check single numbers.",
        subcommands: [Import.self, Add.self, Remove.self, Check.self])

    struct ListOptions: ParsableArguments {
        @Option(help: "The tenant's own list instead of the global one.") var tenant: String?
        var list: DNCList { tenant.map(DNCList.tenant) ?? .global }
        var name: String { tenant.map { "tenant \($0)'s list" } ?? "the global list" }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load registry files (one 10-digit number per line, per area code) with COPY, idempotently; reports rows added and removed.")
        @OptionGroup var settings: SettingOptions
        @OptionGroup var list: ListOptions
        @Argument(help: "Files to load.") var files: [String]
        @Flag(help: "The files are change lists of deletions: remove their numbers.") var deletions = false
        @Flag(help: "The files are full lists for their area codes: numbers of those area codes missing from them are removed.") var full = false
        @Option(help: "Source recorded with each row.") var source = "registry"

        func run() async throws {
            guard !(deletions && full) else { throw ValidationError("--deletions and --full do not go together") }
            let loaded = try settings.load(requireTwilio: false)
            let logger = try settings.logger()
            for file in files where !FileManager.default.isReadableFile(atPath: file) {
                printError("dialer: cannot read \(file)")
                throw ExitCode(1)
            }
            for file in files {
                let target = list.list
                let result = try await withDatabase(loaded, logger: logger) { store in
                    try await requireCurrentSchema(store)
                    return try await store.importDNC(FileLines(path: file), into: target, source: source, deletions: deletions, fullList: full)
                }
                print("dnc import \(file) into \(list.name): read=\(result.read) added=\(result.added) removed=\(result.removed) rejected=\(result.rejected)"
                    + (result.rejectedLines.isEmpty ? "" : " (lines \(result.rejectedLines.map(String.init).joined(separator: ", ")))"))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add one number.")
        @OptionGroup var settings: SettingOptions
        @OptionGroup var list: ListOptions
        @Argument(help: "E.164 number.") var number: String
        func run() async throws {
            let phone = try parsePhone(number)
            let loaded = try settings.load(requireTwilio: false)
            let target = list.list
            let added = try await withDatabase(loaded, logger: try settings.logger()) { try await $0.addDNC(phone, to: target) }
            print(added ? "added \(phone.e164) to \(list.name)" : "\(phone.e164) was already on \(list.name)")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove one number.")
        @OptionGroup var settings: SettingOptions
        @OptionGroup var list: ListOptions
        @Argument(help: "E.164 number.") var number: String
        func run() async throws {
            let phone = try parsePhone(number)
            let loaded = try settings.load(requireTwilio: false)
            let target = list.list
            let removed = try await withDatabase(loaded, logger: try settings.logger()) { try await $0.removeDNC(phone, from: target) }
            print(removed ? "removed \(phone.e164) from \(list.name)" : "\(phone.e164) was not on \(list.name)")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Is a number on the global list, or on a tenant's? Exit 0 either way.")
        @OptionGroup var settings: SettingOptions
        @OptionGroup var list: ListOptions
        @Argument(help: "E.164 number.") var number: String
        func run() async throws {
            let phone = try parsePhone(number)
            let loaded = try settings.load(requireTwilio: false)
            let tenant = list.tenant
            let facts = try await withDatabase(loaded, logger: try settings.logger()) { try await $0.checkFacts(phone, tenant: tenant) }
            print("global: \(facts.onGlobalDNC ? "listed" : "not listed")" + (tenant.map { "\ntenant \($0): \(facts.onTenantDNC ? "listed" : "not listed")" } ?? ""))
        }
    }
}

func parsePhone(_ text: String) throws -> PhoneNumber {
    do { return try PhoneNumber(validating: text) } catch {
        printError("dialer: \(error.error.rawValue): \(error.message)")
        throw ExitCode(1)
    }
}

/// The lines of a file, read in 1 MiB chunks, so a registry file of any size streams through.
struct FileLines: AsyncSequence, Sendable {
    typealias Element = Substring
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var pending: [Substring] = []
        var carry = ""
        var done = false

        mutating func next() async throws -> Substring? {
            while pending.isEmpty {
                if done { return nil }
                guard let handle, let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                    done = true
                    if !carry.isEmpty {
                        pending = [Substring(carry)]
                        carry = ""
                    }
                    continue
                }
                var text = carry + String(decoding: data, as: UTF8.self)
                if let lastNewline = text.lastIndex(of: "\n") {
                    carry = String(text[text.index(after: lastNewline)...])
                    text = String(text[..<lastNewline])
                    pending = text.split(separator: "\n", omittingEmptySubsequences: false).reversed()
                } else {
                    carry = text
                }
            }
            return pending.popLast()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}
