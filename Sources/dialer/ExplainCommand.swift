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
    /// The job and each attempt, with the call it placed (status, answered_by, SIP code, duration) and, for a dial, the
    /// gate's decision that let it through (the rule, the callee's local time).
    static func json(_ job: JobSnapshot, _ attempts: [AttemptRecord], _ calls: [String: CallOutcomeRecord]) -> JSONValue {
        func call(_ sid: String?) -> JSONValue {
            guard let sid, let call = calls[sid] else { return .null }
            var fields: [String: JSONValue] = ["call_sid": .string(sid), "status": .string(call.status.rawValue), "ended": .bool(call.ended),
                                               "events": .number(Double(call.events))]
            fields["answered_by"] = call.answeredBy.map(JSONValue.string) ?? .null
            fields["stir_status"] = call.stirStatus.map(JSONValue.string) ?? .null
            fields["sip_response_code"] = call.sipResponseCode.map { .number(Double($0)) } ?? .null
            fields["duration_seconds"] = call.callDuration.map { .number(Double($0)) } ?? .null
            return .object(fields)
        }
        let rows: [JSONValue] = attempts.map { a in
            var fields: [String: JSONValue] = ["attempt": .number(Double(a.attempt)), "kind": .string(a.kind), "outcome": .string(a.outcome),
                                               "recorded_at": .string(ISO8601Instant.string(a.recordedAt)), "worker": .string(a.worker),
                                               "possibly_dialed": .bool(a.possiblyDialed)]
            fields["http_status"] = a.httpStatus.map { .number(Double($0)) } ?? .null
            fields["twilio_code"] = a.twilioCode.map { .number(Double($0)) } ?? .null
            fields["call_sid"] = a.callSID.map(JSONValue.string) ?? .null
            fields["error"] = a.error.map { JSONValue.parse($0.jsonText) ?? .null } ?? .null
            fields["detail"] = a.detail ?? .null
            fields["call"] = a.kind == "dial" || a.kind == "reconcile" || a.kind == "outcome" ? call(a.callSID) : .null
            if a.kind == "dial" || a.kind == "gate" {
                var gate: [String: JSONValue] = ["decision": .string(a.kind == "dial" ? "allow" : a.outcome)]
                gate["rule"] = a.detail?["rule"] ?? .null
                gate["local_time"] = a.detail?["local_time"] ?? .null
                gate["time_zones"] = a.detail?["time_zones"] ?? .null
                fields["gate"] = .object(gate)
            }
            return .object(fields)
        }
        var fields: [String: JSONValue] = [
            "id": .number(Double(job.id)), "state": .string(job.state.rawValue), "tenant_id": .string(job.tenantID),
            "to": .string(PhoneNumber.mask(job.destination)), "attempt": .number(Double(job.attempt)), "max_attempts": .number(Double(job.maxAttempts)),
            "run_in_seconds": .number((job.runInSeconds * 1000).rounded() / 1000), "purpose": .string(job.purpose.rawValue),
        ]
        fields["campaign_id"] = job.campaignID.map(JSONValue.string) ?? .null
        fields["call_sid"] = job.callSID.map(JSONValue.string) ?? .null
        fields["last_outcome"] = job.lastOutcome.map(JSONValue.string) ?? .null
        fields["last_error"] = job.lastError.map { JSONValue.parse($0.jsonText) ?? .null } ?? .null
        fields["consent_type"] = job.consentType.map { .string($0.rawValue) } ?? .null
        return .object(["job": .object(fields), "attempts": .array(rows)])
    }
}
