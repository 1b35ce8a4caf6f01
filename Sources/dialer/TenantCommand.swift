import ArgumentParser
import DialerCore
import Foundation

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Create or update a tenant and its caller number (set-up for demos and tests; the API owns tenants in production).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Tenant id.") var id: String
    @Option(help: "pending_review, approved or rejected.") var verification: String = "approved"
    @Option(help: "Twilio subaccount SID (AC + 32 hex).") var subaccount: String?
    @Option(help: "A caller number in E.164 to add and select.") var number: String?
    @Option(help: "The tenant's own calling window in the callee's local time, HH:MM-HH:MM (it only narrows the legal hours).")
    var callWindow: String?

    func run() async throws {
        guard !id.isEmpty, id.count <= 128 else { throw invalidFlag("--id", "--id must be 1 to 128 characters.") }
        guard let status = VerificationStatus(rawValue: verification) else {
            throw invalidFlag("--verification", "--verification must be pending_review, approved or rejected, got '\(verification)'.")
        }
        if let subaccount, subaccount.range(of: "^AC[0-9a-fA-F]{32}$", options: .regularExpression) == nil {
            throw invalidFlag("--subaccount", "--subaccount must be AC followed by 32 hex digits, got '\(subaccount)'.")
        }
        let caller = try number.map { text throws(OpenPhnError) in try parsePhone(text, flag: "--number") }
        var window: DailyWindow?
        if let callWindow {
            guard let parsed = DailyWindow(callWindow), parsed.end <= 24 * 60 else {
                throw invalidFlag("--call-window", "--call-window must look like 09:00-18:00, got '\(callWindow)'.")
            }
            window = parsed
        }
        let (id, subaccount, tenantWindow) = (id, subaccount, window)
        try await settings.withStore { store in
            try await store.upsertTenant(id: id, verification: status, subaccountSID: subaccount, callWindow: tenantWindow)
            if let caller { try await store.upsertPhoneNumber(tenantID: id, e164: caller.e164, selected: true) }
        }
        print("tenant \(id): \(status.rawValue)" + (caller.map { ", caller number \($0.e164) selected" } ?? "")
            + (tenantWindow.map { ", calling window \($0)" } ?? ""))
    }
}
