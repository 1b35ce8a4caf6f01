import Foundation
import Testing

@testable import DialerCore

/// The values a request is built from, typed as flags or CSV cells: one parser, one set of messages.
@Suite("Enqueue input: fields, instants, expiry, campaign file bytes")
struct EnqueueInputTests {
    let now = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!

    func request(_ change: (inout CallRequest) throws -> Void) rethrows -> CallRequest {
        var request = CallRequest(tenantID: "acme", to: "+14155551234", objective: "Confirm the appointment", consentType: .priorExpress)
        try change(&request)
        return request
    }

    func error(_ body: () throws -> Void) -> OpenPhnError? {
        do { try body() } catch { return error as? OpenPhnError }
        return nil
    }

    @Test("an expires_at at or before the clock at enqueue is invalid_request; a later one is fine")
    func pastExpiry() throws {
        let past = error { _ = try request { $0.expiresAt = now.addingTimeInterval(-1) }.validated(now: now) }
        #expect(past?.error == .invalidRequest)
        #expect(past?.details["field"] == "expires_at")
        #expect(past?.message == "expires_at 2026-12-02T17:59:59Z is in the past: the job could never be dialed.")
        #expect(error { _ = try request { $0.expiresAt = now }.validated(now: now) }?.error == .invalidRequest)
        #expect(error { _ = try request { $0.expiresAt = now.addingTimeInterval(60) }.validated(now: now) } == nil)
    }

    @Test("a value gets the same message as a cell and as a flag, but for the name; details name the field")
    func sameMessages() {
        for (field, text) in [(CallRequest.Field.priority, "high"), (.maxAttempts, "-"), (.runAt, "2026-11-25T15:00:00"), (.expiresAt, "soon"),
                              (.outcomeSchema, "{nope")] {
            let cell = error { _ = try request { try $0.set(field, text: text) } }
            let flag = error { _ = try request { try $0.set(field, text: text, naming: .flags) } }
            #expect(cell != nil && flag != nil, "\(field)")
            #expect(cell?.message.replacingOccurrences(of: field.rawValue, with: field.flag) == flag?.message, "\(field)")
            #expect(cell?.details["field"] == JSONValue.string(field.rawValue))
            #expect(flag?.details["flag"] == JSONValue.string(field.flag))
        }
        let range = error { _ = try request { $0.priority = -1 }.validated(now: now, naming: .flags) }
        #expect(range?.message == "--priority must be from 0 (dials first) to 9 (dials last), got -1.")
    }

    @Test("an instant without a zone is refused as such, never read as local time")
    func instants() {
        #expect(ISO8601Instant.instant("2026-11-25T15:00:00Z") != nil)
        #expect(ISO8601Instant.instant("2026-11-25T10:00:00-05:00") == ISO8601Instant.instant("2026-11-25T15:00:00Z"))
        #expect(ISO8601Instant.instant("2026-11-25T15:00:00.250Z") != nil)
        #expect(error { _ = try ISO8601Instant.parse("2026-11-25T15:00:00", name: "run_at") }?.message.contains("has no time zone") == true)
        #expect(error { _ = try ISO8601Instant.parse("tomorrow", name: "run_at") }?.message.contains("is not an ISO-8601 instant") == true)
    }

    @Test("campaign file bytes: UTF-8 with or without a BOM; anything else says where it stops being UTF-8")
    func fileBytes() throws {
        #expect(try CampaignFile.text(Data("to\n+14155551234\n".utf8)) == "to\n+14155551234\n")
        #expect(try CampaignFile.text(Data("\u{FEFF}to\n".utf8)) == "to\n")
        let latin1 = error { _ = try CampaignFile.text(Data("to\nCaf".utf8) + Data([0xE9, 0x0A])) }
        #expect(latin1?.details["byte"] == 7)
        #expect(latin1?.details["line"] == 2)
        #expect(error { _ = try CampaignFile.text(Data([0xFF, 0xFE, 0x74, 0x00])) }?.message.contains("UTF-16") == true)
    }

    @Test("a campaign repeating a number derives its key once, so the store collapses the repeat instead of calling it a conflict")
    func repeatedNumbers() throws {
        let defaults = CallRequest(tenantID: "acme", to: "", campaignID: "spring", objective: "Remind", consentType: .priorExpress)
        let file = try CampaignFile.parse("to,objective\n+14155551234,A\n+14155551234,B\n", defaults: defaults, now: now)
        #expect(file.requests.map(\.request.idempotencyKey) == ["campaign:spring:+14155551234", nil])
        let past = try CampaignFile.parse("to,expires_at\n+14155551234,2026-12-01T00:00:00Z\n", defaults: defaults, now: now)
        #expect(past.errors.map(\.error.error) == [.invalidRequest])
    }

    @Test("a call without consent, or telemarketing without written consent, is consent_required naming consent_type; with flags, the flag")
    func consentRequired() {
        let none = error { _ = try request { $0.consentType = nil }.validated(now: now) }
        #expect(none?.error == .consentRequired)
        #expect(none?.details["field"] == "consent_type")
        #expect(none?.details["purpose"] == "informational" && none?.details["required"] == "prior_express" && none?.details["consent_type"] == .null)
        let pec = error { _ = try request { $0.purpose = .telemarketing }.validated(now: now, naming: .flags) }
        #expect(pec?.error == .consentRequired)
        #expect(pec?.details["required"] == "prior_express_written" && pec?.details["consent_type"] == "prior_express")
        #expect(pec?.details["flag"] == "--consent-type")
        #expect(pec?.message.contains("--consent-type prior_express_written") == true, "\(pec?.message ?? "")")
        #expect(error { _ = try request { $0.purpose = .telemarketing; $0.consentType = .priorExpressWritten }.validated(now: now) } == nil)
    }

    @Test("consent fields parse as cells and flags: pewc and pec abbreviate the types; an unknown purpose or type is invalid_request")
    func consentFields() throws {
        var request = request { _ in }
        for (text, type) in [("pewc", ConsentType.priorExpressWritten), ("PEWC", .priorExpressWritten), ("prior_express_written", .priorExpressWritten),
                             ("pec", .priorExpress), ("prior_express", .priorExpress)] {
            try request.set(.consentType, text: text)
            #expect(request.consentType == type, "\(text)")
        }
        try request.set(.purpose, text: "Telemarketing")
        #expect(request.purpose == .telemarketing)
        #expect(error { try request.set(.purpose, text: "sales") }?.details["field"] == "purpose")
        #expect(error { try request.set(.consentType, text: "verbal", naming: .flags) }?.message.hasPrefix("--consent-type must be") == true)
        #expect(CallRequest.Field.consentAt.flag == "--consent-at" && CallRequest.Field.consentSource.flag == "--consent-source")
    }

    @Test("consent_at after the clock at enqueue is refused (consent is evidence of the past); consent_source is 1 to 500 characters")
    func consentEvidence() {
        let future = error { _ = try request { $0.consentAt = now.addingTimeInterval(60) }.validated(now: now) }
        #expect(future?.error == .invalidRequest && future?.details["field"] == "consent_at")
        #expect(error { _ = try request { $0.consentAt = now }.validated(now: now) } == nil)
        let long = error { _ = try request { $0.consentSource = String(repeating: "x", count: 501) }.validated(now: now) }
        #expect(long?.error == .invalidRequest && long?.details["field"] == "consent_source")
        #expect(error { _ = try request { $0.consentSource = String(repeating: "x", count: 500) }.validated(now: now) } == nil)
    }

    @Test("the idempotency body covers purpose and consent: another consent is another body; pewc and prior_express_written are one")
    func consentInIdempotencyBody() throws {
        let base = try request { $0.consentSource = "form 1" }.validated(now: now).canonicalBody
        #expect(base.contains(#""consent_type":"prior_express""#) && base.contains(#""purpose":"informational""#))
        #expect(try request { $0.consentSource = "form 2" }.validated(now: now).canonicalBody != base)
        #expect(try request { $0.consentSource = "form 1"; $0.consentAt = now }.validated(now: now).canonicalBody != base)
        #expect(try request { $0.consentSource = "form 1"; $0.consentType = .priorExpressWritten }.validated(now: now).canonicalBody != base)
        var abbreviated = request { $0.consentSource = "form 1" }, spelled = abbreviated
        try abbreviated.set(.consentType, text: "pewc")
        try spelled.set(.consentType, text: "prior_express_written")
        #expect(try abbreviated.validated(now: now).canonicalBody == spelled.validated(now: now).canonicalBody)
    }
}
