import ArgumentParser
import DialerCore
import Foundation

struct CheckCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print the dial-time gate's decision for a number without dialing: allow, defer (with the next legal instant) or block.",
        discussion: """
            Without DATABASE_URL only the number plan and calling hours are checked; with it, the do-not-call lists too, and with --tenant the \
            tenant's lists, verification, window and recent calls. A number that is not a valid NANP number is blocked with invalid_phone. \
            Consent is each job's own (consent_required at enqueue and when dialed): the answer assumes it was given. \
            Every decision exits 0; a bad --at exits 2.
            """)
    @OptionGroup var settings: SettingOptions
    @Argument(help: "E.164 number.") var number: String
    @Option(help: "Tenant whose lists, window and account apply.") var tenant: String?
    @Option(help: "Decide as of this ISO-8601 instant (default: now).") var at: String?
    @Flag(help: "One JSON object: decision, next_allowed_at, error, message, details, rule, time_zones, region, local_time, dnc_checked.")
    var json = false

    func run() async throws {
        var instant: Date?
        if let at { instant = try ISO8601Instant.parse(at, name: "--at", details: ["flag": "--at"]) }
        let phone: PhoneNumber
        do {
            phone = try PhoneNumber(validating: number)
        } catch {
            // Not even a NANP number: the gate would block it at dial time, and that is the answer.
            print(GateAnswer(number: number, error: error, rule: "number plan").text(json: json))
            return
        }
        var facts = ClaimedCall(jobID: 0, tenantID: tenant ?? "", campaignID: nil, destination: phone.e164, attempt: 0, maxAttempts: 1, expiresAt: nil,
                                verification: .approved, subaccountSID: "AC", callerE164: "", callerActive: true, callerOwnedByTenant: true,
                                claimedAt: Date(), purpose: JobStore.checkedPurpose, consentType: JobStore.checkedConsent)
        var listsChecked = false
        if settings.environment["DATABASE_URL"] != nil || tenant != nil {
            let tenant = self.tenant
            facts = try await settings.withStore { try await $0.checkFacts(phone, tenant: tenant) }
            listsChecked = true
        }
        let decision = DialGate().decide(facts, at: instant ?? facts.claimedAt)
        let hours = CallHours.shipped.evaluate(phone, at: instant ?? facts.claimedAt, tenantWindow: facts.tenantWindow)
        var answer = GateAnswer(number: phone.e164, error: decision.error, rule: decision.rule)
        switch decision.verdict {
        case .allow: answer.decision = "allow"
        case .block: answer.decision = "block"
        case .deferred(let until):
            answer.decision = "defer"
            answer.nextAllowedAt = ISO8601Instant.string(until)
        }
        answer.region = ([hours.location.region] + hours.location.subdivisions).joined(separator: "-")
        answer.timeZones = hours.location.timeZones
        answer.localTimes = hours.localTimes
        answer.listsChecked = listsChecked
        print(answer.text(json: json))
    }
}

/// `dialer check`'s answer, the same keys for every decision (an invalid number included), as text or one JSON object.
struct GateAnswer {
    let number: String
    var decision = "block"
    var nextAllowedAt: String?
    let error: OpenPhnError?
    let rule: String
    var region: String?
    var timeZones: [String] = []
    var localTimes: [String] = []
    var listsChecked = false

    func text(json: Bool) -> String {
        if json {
            return JSONValue.object([
                "decision": .string(decision), "next_allowed_at": nextAllowedAt.map(JSONValue.string) ?? .null,
                "error": error.map { .string($0.error.rawValue) } ?? .null, "message": error.map { .string($0.message) } ?? .null,
                "details": error.map { .object($0.details) } ?? .null, "rule": .string(rule), "time_zones": .array(timeZones.map(JSONValue.string)),
                "region": region.map(JSONValue.string) ?? .null, "local_time": .array(localTimes.map(JSONValue.string)),
                "dnc_checked": .bool(listsChecked),
            ]).jsonText
        }
        var lines = ["\(number): \(decision)" + (error.map { " (\($0.error.rawValue): \($0.message))" } ?? ""), "  rule:       \(rule)"]
        if let region { lines.append("  region:     \(region)") }
        if !localTimes.isEmpty { lines.append("  local time: \(localTimes.joined(separator: "; "))") }
        if let nextAllowedAt { lines.append("  next legal: \(nextAllowedAt)") }
        if region != nil, !listsChecked { lines.append("  do-not-call lists not checked (no DATABASE_URL)") }
        return lines.joined(separator: "\n")
    }
}
