import ArgumentParser
import DialerCore

struct DNCCheckCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Is a number on the global list, or on a tenant's? Exit 0 either way; 2 for a number that is not E.164 NANP.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var list: DNCCommand.ListOptions
    @Argument(help: "E.164 number.") var number: String
    @Flag(help: "One JSON object: number, global, tenant_id, tenant (null without --tenant), and error, message, details (null).") var json = false

    func run() async throws {
        let phone = try parsePhone(number)
        let tenant = list.tenant
        let facts = try await settings.withStore { try await $0.checkFacts(phone, tenant: tenant) }
        if json {
            print(JSONValue.object([
                "number": .string(phone.e164), "global": .bool(facts.onGlobalDNC), "tenant_id": tenant.map(JSONValue.string) ?? .null,
                "tenant": tenant == nil ? .null : .bool(facts.onTenantDNC), "error": .null, "message": .null, "details": .null,
            ]).jsonText)
            return
        }
        print("global: \(facts.onGlobalDNC ? "listed" : "not listed")"
            + (tenant.map { "\ntenant \($0): \(facts.onTenantDNC ? "listed" : "not listed")" } ?? ""))
    }
}
