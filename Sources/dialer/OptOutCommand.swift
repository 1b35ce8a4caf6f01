import ArgumentParser
import DialerCore

/// `dialer opt-out`: a callee's revocation, recorded by an operator (a call to the office, an email, a letter).
struct OptOutCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "opt-out",
        abstract: "A callee revoked consent: add the number to the tenant's do-not-call list and cancel its waiting jobs, at once, audited.",
        discussion: """
            In one transaction: the number goes on the tenant's do-not-call list with --source, the tenant's queued, deferred, retrying \
            and paused jobs to it end cancelled (their attempt row says opted_out), and an audit_log row records who did it. Jobs being \
            dialed or reconciled are left alone; the gate's do-not-call check blocks any later dial of them. Other tenants are not touched.
            """)
    @OptionGroup var settings: SettingOptions
    @Argument(help: "The number that opted out, in E.164.") var number: String
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Where the request came from (a call, an email, a letter); kept with the list entry and the audit row.")
    var source = "dialer opt-out"
    @Flag(help: "One JSON object: tenant_id, to, added_to_dnc, cancelled_jobs, in_flight_jobs, source, audit_id.") var json = false

    func run() async throws {
        let phone = try parsePhone(number)
        let request = try OptOutRequest(tenantID: tenant, to: phone.e164, source: source, naming: .flags)
        let actor = operatorID
        let result = try await settings.withStore { try await $0.optOut(request, actor: actor) }
        if json {
            print(JSONValue.object([
                "tenant_id": .string(result.tenantID), "to": .string(result.destination.e164), "added_to_dnc": .bool(result.addedToDNC),
                "cancelled_jobs": .number(Double(result.cancelled)), "in_flight_jobs": .number(Double(result.inFlight)),
                "source": .string(result.source), "audit_id": .number(Double(result.auditID)),
            ]).jsonText)
            return
        }
        print("opted out \(result.destination.e164) for tenant \(result.tenantID): "
            + (result.addedToDNC ? "added to the tenant's do-not-call list" : "already on the tenant's do-not-call list")
            + "; \(result.cancelled) waiting job(s) cancelled"
            + (result.inFlight > 0 ? "; \(result.inFlight) being dialed or in doubt left alone (the gate blocks any later dial)" : "")
            + " (audit \(result.auditID))")
    }
}
