import ArgumentParser
import DialerCore
import Foundation

/// `dialer keys`: tenants' API keys for the `/v1` API of `dialer serve`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Tenants' API keys for the /v1 API: create (printed once), list, revoke, rotate with a grace period.",
        subcommands: [KeysCreateCommand.self, KeysListCommand.self, KeysRevokeCommand.self, KeysRotateCommand.self])

    static func describe(_ key: APIKey) -> String {
        var parts = ["\(key.id)  \(key.prefix)...  \(key.status())", "scopes " + key.scopes.map(\.rawValue).joined(separator: ",")]
        if let numbers = key.numbers { parts.append("numbers " + numbers.joined(separator: ",")) }
        if let expires = key.expiresAt { parts.append("expires \(DialGate.iso(expires))") }
        if let grace = key.graceEndsAt { parts.append("works until \(DialGate.iso(grace))") }
        if let revoked = key.revokedAt { parts.append("revoked \(DialGate.iso(revoked))") }
        parts.append("\(formatRate(key.ratePerSecond))/s burst \(key.burst)")
        parts.append("last used " + (key.lastUsedAt.map(DialGate.iso) ?? "never"))
        return parts.joined(separator: "  ")
    }

    static func formatRate(_ rate: Double) -> String { rate == rate.rounded() ? String(Int(rate)) : String(rate) }

    /// The key printed once, with what to do with it.
    static func printIssued(_ issued: IssuedAPIKey, json: Bool, extra: [String: JSONValue] = [:]) {
        if json {
            guard case .object(var object) = issued.key.json() else { return }
            object["key"] = .string(issued.secret)
            for (name, value) in extra { object[name] = value }
            print(JSONValue.object(object).jsonText)
            return
        }
        print(issued.secret)
        printError("dialer keys: key \(issued.key.id) for tenant \(issued.key.tenantID) (\(issued.key.scopes.map(\.rawValue).joined(separator: ","))). "
            + "The key is printed above once and is not stored: keep it now. Send it as Authorization: Bearer <key>.")
    }
}

struct KeysCreateCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a key for a tenant; the key is printed once.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Comma-separated: calls:write, calls:read, campaigns:write, dnc:write.") var scopes: String
    @Option(help: "Comma-separated E.164 caller numbers of the tenant the key may call from (default: any of them).") var numbers: String?
    @Option(name: .customLong("expires-at"), help: "ISO-8601 instant after which the key stops working.") var expiresAt: String?
    @Option(name: .customLong("rate-per-second"), help: "Requests per second the key may make, on average.") var ratePerSecond: Double = 20
    @Option(help: "Requests the key may make at once above its rate.") var burst: Int = 40
    @Flag(help: "One JSON object: the key's record and `key`, the key itself.") var json = false

    func run() async throws {
        var request = APIKeyRequest(tenantID: tenant, scopes: try APIScope.parse(list: scopes, field: "--scopes"), ratePerSecond: ratePerSecond,
                                    burst: burst)
        if let numbers {
            request.numbers = try numbers.split(separator: ",").map { text throws(OpenPhnError) in
                try parsePhone(text.trimmingCharacters(in: .whitespaces), flag: "--numbers")
            }
        }
        if let expiresAt { request.expiresAt = try ISO8601Instant.parse(expiresAt, name: "--expires-at", details: ["flag": "--expires-at"]) }
        let actor = operatorID
        let issued = try await settings.withStore { [request] in try await $0.createKey(request, by: actor) }
        KeysCommand.printIssued(issued, json: json)
    }
}

struct KeysListCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A tenant's keys, newest first (never the keys themselves).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Tenant id.") var tenant: String
    @Flag(help: "One JSON object: {keys: [...]}.") var json = false

    func run() async throws {
        let tenant = self.tenant
        let keys = try await settings.withStore { try await $0.keys(tenant: tenant) }
        if json {
            print(JSONValue.object(["keys": .array(keys.map { $0.json() })]).jsonText)
            return
        }
        if keys.isEmpty { print("tenant \(tenant) has no API keys") }
        for key in keys { print(KeysCommand.describe(key)) }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a key at once: its requests get 401 key_revoked.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "The key's id (key_...).") var keyID: String
    @Flag(help: "One JSON object: the key's record.") var json = false

    func run() async throws {
        let (id, actor) = (keyID, operatorID)
        let key = try await settings.withStore { try await $0.revokeKey(id, by: actor) }
        print(json ? key.json().jsonText : "revoked " + KeysCommand.describe(key))
    }
}

struct KeysRotateCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "A new key with the same tenant, scopes, numbers, expiry and budget; the old one works until the grace period ends.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "The key's id (key_...).") var keyID: String
    @Option(help: "How long the old key keeps working: 90s, 15m, 24h (at most 30d).") var grace: String = "24h"
    @Flag(help: "One JSON object: the new key's record, `key` (the new key itself) and `replaces` (the old key's record).") var json = false

    func run() async throws {
        let seconds = try CampaignSetCommand.seconds(grace, flag: "--grace")
        guard seconds <= 30 * 86_400 else { throw invalidFlag("--grace", "--grace is at most 30d, got '\(grace)'.") }
        let (id, actor) = (keyID, operatorID)
        let (old, new) = try await settings.withStore { try await $0.rotateKey(id, grace: .seconds(seconds), by: actor) }
        KeysCommand.printIssued(new, json: json, extra: ["replaces": old.json()])
        if !json { printError("dialer keys: \(old.id) works until \(old.graceEndsAt.map(DialGate.iso) ?? "now"), then answers 401 key_expired.") }
    }
}
