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
        guard let status = VerificationStatus(rawValue: verification) else {
            throw ValidationError("--verification must be pending_review, approved or rejected")
        }
        if let subaccount, subaccount.range(of: "^AC[0-9a-fA-F]{32}$", options: .regularExpression) == nil {
            throw ValidationError("--subaccount must be AC followed by 32 hex digits")
        }
        if let number {
            do { _ = try PhoneNumber(validating: number) } catch { throw ValidationError("--number: \(error.message)") }
        }
        var window: DailyWindow?
        if let callWindow {
            guard let parsed = DailyWindow(callWindow), parsed.end <= 24 * 60 else { throw ValidationError("--call-window must look like 09:00-18:00") }
            window = parsed
        }
        let tenantWindow = window
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            try await store.upsertTenant(id: id, verification: status, subaccountSID: subaccount, callWindow: tenantWindow)
            if let number { try await store.upsertPhoneNumber(tenantID: id, e164: number, selected: true) }
        }
        print("tenant \(id): \(status.rawValue)" + (number.map { ", caller number \($0) selected" } ?? "") + (tenantWindow.map { ", calling window \($0)" } ?? ""))
    }
}
