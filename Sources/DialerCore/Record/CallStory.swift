import Foundation

/// A call's whole story, as `dialer explain --json` prints it and the console's call page shows it: the job, and each
/// attempt with the gate's decision (the rule, the callee's local time), the call it placed (Twilio status,
/// answered_by, SIP code, duration) and every operator action on it.
public enum CallStory {
    /// The job and each attempt, with the call it placed (status, answered_by, SIP code, duration) and, for a dial, the
    /// gate's decision that let it through (the rule, the callee's local time).
    /// - Parameter number: how the callee's number is shown (masked, unless the reader may see it whole).
    public static func json(_ job: JobSnapshot, _ attempts: [AttemptRecord], _ calls: [String: CallOutcomeRecord],
                            number: (String) -> String = PhoneNumber.mask) -> JSONValue {
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
            "to": .string(number(job.destination)), "attempt": .number(Double(job.attempt)), "max_attempts": .number(Double(job.maxAttempts)),
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
