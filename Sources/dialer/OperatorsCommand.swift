import ArgumentParser
import DialerCore
import Foundation

/// `dialer operators`: the people who sign in to the operator console of `dialer serve`.
struct OperatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators", abstract: "Operator console accounts: add, list, disable, enable, reset a password.",
        subcommands: [OperatorsAddCommand.self, OperatorsListCommand.self, OperatorsDisableCommand.self, OperatorsEnableCommand.self,
                      OperatorsPasswordCommand.self])

    /// The password to set: one line of standard input with `--password-stdin` (never an argument, which `ps` shows to
    /// everyone on the host), else a new random one, printed once.
    static func password(fromStdin: Bool) throws -> (password: String, generated: Bool) {
        guard fromStdin else { return (ConsoleToken.random().prefix(24).description, true) }
        guard let line = readLine(strippingNewline: true) else {
            throw OpenPhnError(.invalidRequest, "--password-stdin: standard input ended before a password line.", details: ["flag": "--password-stdin"])
        }
        try PasswordHash.validate(newPassword: line)
        return (line, false)
    }

    /// `disable` and `enable`: one statement, audited, and one line (or JSON object) saying what was done.
    static func setDisabled(_ disabled: Bool, id: String, settings: SettingOptions, json: Bool) async throws {
        let actor = operatorID
        try await settings.withStore { try await $0.setOperator(id, disabled: disabled, by: actor) }
        if json {
            print(JSONValue.object(["id": .string(id), "disabled": .bool(disabled)]).jsonText)
        } else {
            printError("dialer operators: \(id) \(disabled ? "disabled" : "enabled")")
        }
    }

    static func describe(_ record: OperatorRecord) -> String {
        var parts = [record.account.id, record.account.role.rawValue, "tenant " + (record.account.tenantID ?? "(all)")]
        if let disabled = record.disabledAt { parts.append("disabled \(DialGate.iso(disabled))") }
        if let locked = record.lockedUntil, locked > Date() { parts.append("locked until \(DialGate.iso(locked))") }
        parts.append("last sign-in " + (record.lastSignInAt.map(DialGate.iso) ?? "never"))
        return parts.joined(separator: "  ")
    }

    static func json(_ record: OperatorRecord) -> JSONValue {
        .object([
            "id": .string(record.account.id), "role": .string(record.account.role.rawValue),
            "tenant_id": record.account.tenantID.map(JSONValue.string) ?? .null, "created_at": .string(DialGate.iso(record.createdAt)),
            "created_by": .string(record.createdBy), "last_signin_at": record.lastSignInAt.map { .string(DialGate.iso($0)) } ?? .null,
            "disabled_at": record.disabledAt.map { .string(DialGate.iso($0)) } ?? .null,
        ])
    }

    /// Prints a generated password once, or says the given one was set.
    static func report(_ id: String, password: String, generated: Bool, json: Bool, what: String) {
        if json {
            var object: [String: JSONValue] = ["id": .string(id)]
            if generated { object["password"] = .string(password) }
            print(JSONValue.object(object).jsonText)
        } else if generated {
            print(password)
            printError("dialer operators: \(what) for \(id). The password is printed above once and is not stored: hand it over now.")
        } else {
            printError("dialer operators: \(what) for \(id).")
        }
    }
}

struct OperatorsAddCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a console account (a random password is printed once).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The sign-in name: letters, digits and . _ @ -, at most 64.") var id: String
    @Option(help: "viewer (sees), operator (also pauses, resumes, cancels, retries), admin (also sees whole numbers).") var role: String
    @Option(help: "The one tenant the account sees (default: every tenant).") var tenant: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password (12 to 256 characters) from one line of standard input.")
    var passwordStdin = false
    @Flag(help: "One JSON object: {id, password (when generated)}.") var json = false

    func run() async throws {
        let account = ConsoleOperator(id: id, tenantID: tenant, role: try OperatorRole.parse(role, field: "--role"))
        try ConsoleOperator.validate(id: account.id)
        let (password, generated) = try OperatorsCommand.password(fromStdin: passwordStdin)
        let hash = try PasswordHash.current.hash(password)
        let actor = operatorID
        try await settings.withStore { try await $0.addOperator(account, passwordHash: hash, by: actor) }
        OperatorsCommand.report(account.id, password: password, generated: generated, json: json, what: "\(account.role.rawValue) account created")
    }
}

struct OperatorsListCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Console accounts, by id (never their passwords).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Only this tenant's accounts.") var tenant: String?
    @Flag(help: "One JSON object: {operators: [...]}.") var json = false

    func run() async throws {
        let tenant = self.tenant
        let records = try await settings.withStore { try await $0.operators(tenant: tenant) }
        if json {
            print(JSONValue.object(["operators": .array(records.map(OperatorsCommand.json))]).jsonText)
            return
        }
        if records.isEmpty { print("no operator accounts") }
        for record in records { print(OperatorsCommand.describe(record)) }
    }
}

struct OperatorsDisableCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable an account and end its sessions at once.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The account's id.") var id: String
    @Flag(help: "One JSON object: {id, disabled}.") var json = false

    func run() async throws { try await OperatorsCommand.setDisabled(true, id: id, settings: settings, json: json) }
}

struct OperatorsEnableCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a disabled account (and lift a sign-in lock).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The account's id.") var id: String
    @Flag(help: "One JSON object: {id, disabled}.") var json = false

    func run() async throws { try await OperatorsCommand.setDisabled(false, id: id, settings: settings, json: json) }
}

struct OperatorsPasswordCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "reset-password", abstract: "Set a new password (random and printed once, or from standard input); ends the account's sessions.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The account's id.") var id: String
    @Flag(name: .customLong("password-stdin"), help: "Read the password (12 to 256 characters) from one line of standard input.")
    var passwordStdin = false
    @Flag(help: "One JSON object: {id, password (when generated)}.") var json = false

    func run() async throws {
        let (password, generated) = try OperatorsCommand.password(fromStdin: passwordStdin)
        let hash = try PasswordHash.current.hash(password)
        let (id, actor) = (self.id, operatorID)
        try await settings.withStore { try await $0.setPassword(operator: id, passwordHash: hash, by: actor) }
        OperatorsCommand.report(id, password: password, generated: generated, json: json, what: "password set")
    }
}
