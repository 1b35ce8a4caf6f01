import ArgumentParser
import DialerCore
import Foundation

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "A job's state and its history of gate decisions and dial attempts.")
    @OptionGroup var settings: SettingOptions
    @Argument(help: "Job id.") var jobID: Int64

    func run() async throws {
        let id = jobID
        let (job, attempts) = try await settings.withStore { store in
            (try await store.job(id), try await store.attempts(jobID: id))
        }
        guard let job else { throw OpenPhnError(.notFound, "job \(id) does not exist.", details: ["job_id": .number(Double(id))]) }
        print("job \(job.id): \(job.state.rawValue), attempt \(job.attempt) of \(job.maxAttempts), tenant \(job.tenantID), to \(PhoneNumber.mask(job.destination))"
            + (job.campaignID.map { ", campaign \($0)" } ?? ""))
        print("  purpose: \(job.purpose.rawValue), consent: "
            + (job.consentType.map { type in
                [type.rawValue, job.consentAt.map { "given \(ISO8601Instant.string($0))" }, job.consentSource.map { "source \"\($0)\"" }]
                    .compactMap { $0 }.joined(separator: ", ")
            } ?? "none (not dialed: consent_required)"))
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
            if let reason = a.detail?["reason"]?.stringValue { line += " reason=\(reason)" }
            if let source = a.detail?["source"]?.stringValue { line += " source=\"\(source)\"" }
            if case .array(let times)? = a.detail?["local_time"] { line += " local=\"\(times.compactMap(\.stringValue).joined(separator: "; "))\"" }
            line += " worker=\(a.worker)"
            print(line)
        }
    }
}
