import ArgumentParser
import DialerCore
import Foundation

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Print the dial-time gate's decision for a number without dialing: allow, defer (with the next legal instant) or block.",
        discussion: "Without DATABASE_URL only the number plan and calling hours are checked; with it, the do-not-call lists too, and with --tenant the tenant's lists, verification, window and recent calls.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "E.164 number.") var number: String
    @Option(help: "Tenant whose lists, window and account apply.") var tenant: String?
    @Option(help: "Decide as of this ISO-8601 instant (default: now).") var at: String?
    @Flag(help: "One JSON object: decision, next_allowed_at, error, rule, time_zones, region.") var json = false

    func run() async throws {
        let phone = try parsePhone(number)
        var instant: Date?
        if let at {
            guard let parsed = ISO8601DateFormatter().date(from: at) else { throw ValidationError("--at must be an ISO-8601 instant such as 2026-11-25T15:00:00Z") }
            instant = parsed
        }
        var facts = ClaimedCall(jobID: 0, tenantID: tenant ?? "", campaignID: nil, destination: phone.e164, attempt: 0, maxAttempts: 1, expiresAt: nil,
                                verification: .approved, subaccountSID: "AC", callerE164: "", callerActive: true, callerOwnedByTenant: true,
                                claimedAt: Date())
        var listsChecked = false
        if settings.environment["DATABASE_URL"] != nil || tenant != nil {
            let loaded = try settings.load(requireTwilio: false)
            let tenant = self.tenant
            facts = try await withDatabase(loaded, logger: try settings.logger()) { try await $0.checkFacts(phone, tenant: tenant) }
            listsChecked = true
        }
        let decision = DialGate().decide(facts, at: instant ?? facts.claimedAt)
        let hours = CallHours.shipped.evaluate(phone, at: instant ?? facts.claimedAt, tenantWindow: facts.tenantWindow)
        let verdict: String
        var next: String?
        switch decision.verdict {
        case .allow: verdict = "allow"
        case .block: verdict = "block"
        case .deferred(let until):
            verdict = "defer"
            next = ISO8601DateFormatter().string(from: until)
        }
        let region = ([hours.location.region] + hours.location.subdivisions).joined(separator: "-")
        if json {
            print(JSONValue.object([
                "decision": .string(verdict), "next_allowed_at": next.map(JSONValue.string) ?? .null,
                "error": decision.error.map { .string($0.error.rawValue) } ?? .null, "rule": .string(decision.rule),
                "time_zones": .array(hours.location.timeZones.map(JSONValue.string)), "region": .string(region),
                "local_time": .array(hours.localTimes.map(JSONValue.string)), "dnc_checked": .bool(listsChecked),
            ]).jsonText)
            return
        }
        print("\(phone.e164): \(verdict)" + (decision.error.map { " (\($0.error.rawValue): \($0.message))" } ?? ""))
        print("  rule:       \(decision.rule)")
        print("  region:     \(region)")
        print("  local time: \(hours.localTimes.joined(separator: "; "))")
        if let next { print("  next legal: \(next)") }
        if !listsChecked { print("  do-not-call lists not checked (no DATABASE_URL)") }
    }
}

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "A job's state and its history of gate decisions and dial attempts.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "Job id.") var jobID: Int64

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let id = jobID
        let (job, attempts) = try await withDatabase(loaded, logger: try settings.logger()) { store in
            (try await store.job(id), try await store.attempts(jobID: id))
        }
        guard let job else {
            printError("dialer: not_found: job \(id) does not exist")
            throw ExitCode(1)
        }
        print("job \(job.id): \(job.state.rawValue), attempt \(job.attempt) of \(job.maxAttempts), tenant \(job.tenantID), to \(PhoneNumber.mask(job.destination))"
            + (job.campaignID.map { ", campaign \($0)" } ?? ""))
        if let sid = job.callSID { print("  call SID: \(sid)") }
        if let error = job.lastError { print("  last error: \(error.jsonText)") }
        if job.state.isWaiting { print(String(format: "  runs in %.1fs", max(0, job.runInSeconds))) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for a in attempts {
            var line = "  \(iso.string(from: a.recordedAt))  #\(a.attempt) \(a.kind) \(a.outcome)"
            if let status = a.httpStatus { line += " http=\(status)" }
            if let code = a.twilioCode { line += " twilio=\(code)" }
            if let sid = a.callSID { line += " sid=\(sid)" }
            if a.possiblyDialed { line += " possibly-dialed" }
            if let error = a.error { line += " error=\(error.error.rawValue)" }
            if let rule = a.detail?["rule"]?.stringValue { line += " rule=\"\(rule)\"" }
            if case .array(let times)? = a.detail?["local_time"] { line += " local=\"\(times.compactMap(\.stringValue).joined(separator: "; "))\"" }
            line += " worker=\(a.worker)"
            print(line)
        }
    }
}
