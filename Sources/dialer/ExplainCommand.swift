import ArgumentParser
import DialerCore
import Foundation

struct ExplainCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "A job's state and its history: gate decisions, dial attempts, and each call's status, answered_by, SIP code and length.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "Job id.") var jobID: Int64
    @Flag(help: "One JSON object: the job and each attempt with its call and the gate's decision.") var json = false

    func run() async throws {
        let id = jobID
        let (job, attempts, calls) = try await settings.withStore { store in
            (try await store.job(id), try await store.attempts(jobID: id), try await store.callOutcomes(jobID: id))
        }
        guard let job else { throw OpenPhnError(.notFound, "job \(id) does not exist.", details: ["job_id": .number(Double(id))]) }
        if json {
            print(Self.json(job, attempts, calls).jsonText)
            return
        }
        print("job \(job.id): \(job.state.rawValue), attempt \(job.attempt) of \(job.maxAttempts), tenant \(job.tenantID), to \(PhoneNumber.mask(job.destination))"
            + (job.campaignID.map { ", campaign \($0)" } ?? ""))
        print("  purpose: \(job.purpose.rawValue), consent: "
            + (job.consentType.map { type in
                [type.rawValue, job.consentAt.map { "given \(ISO8601Instant.string($0))" }, job.consentSource.map { "source \"\($0)\"" }]
                    .compactMap { $0 }.joined(separator: ", ")
            } ?? "none (not dialed: consent_required)"))
        if let sid = job.callSID { print("  call SID: \(sid)" + (job.lastOutcome.map { ", last outcome: \($0)" } ?? "")) }
        if let error = job.lastError { print("  last error: \(error.jsonText)") }
        if job.state.isWaiting { print(String(format: "  runs in %.1fs", max(0, job.runInSeconds))) }
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for a in attempts {
            var line = "  \(iso.string(from: a.recordedAt))  #\(a.attempt) \(a.kind) \(a.outcome)"
            if let status = a.httpStatus { line += " http=\(status)" }
            if let code = a.twilioCode { line += " twilio=\(code)" }
            if let sid = a.callSID {
                line += " sid=\(sid)"
                if a.kind == "dial" || a.kind == "reconcile", let call = calls[sid] {
                    line += " call=\(call.status.rawValue)" + (call.answeredBy.map { " answered_by=\($0)" } ?? "")
                        + (call.sipResponseCode.map { " sip=\($0)" } ?? "") + (call.callDuration.map { " duration=\($0)s" } ?? "")
                        + (call.stirStatus.map { " stir=\($0)" } ?? "")
                }
            }
            if a.kind == "outcome", let decision = a.detail?["decision"]?.stringValue {
                line += " decision=\(decision)" + (a.detail?["next_dial_at"]?.stringValue.map { " next_dial_at=\($0)" } ?? "")
            }
            if a.possiblyDialed { line += " possibly-dialed" }
            if let error = a.error { line += " error=\(error.error.rawValue)" }
            if let rule = a.detail?["rule"]?.stringValue { line += " rule=\"\(rule)\"" }
            if let reason = a.detail?["reason"]?.stringValue { line += " reason=\(reason)" }
            if let source = a.detail?["source"]?.stringValue { line += " source=\"\(source)\"" }
            if case .array(let times)? = a.detail?["local_time"] { line += " local=\"\(times.compactMap(\.stringValue).joined(separator: "; "))\"" }
            line += " worker=\(a.worker)"
            print(line)
        }
    }
}

extension ExplainCommand {
    /// The job and each attempt (``CallStory``), as `--json` prints it.
    static func json(_ job: JobSnapshot, _ attempts: [AttemptRecord], _ calls: [String: CallOutcomeRecord]) -> JSONValue {
        CallStory.json(job, attempts, calls)
    }
}
