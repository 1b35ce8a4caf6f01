import Foundation
import Testing

@testable import DialerCore

@Suite("Campaign files")
struct CampaignFileTests {
    let defaults = CallRequest(tenantID: "acme", to: "", campaignID: "spring", objective: "Remind about the sale", consentType: .priorExpress,
                               consentSource: "web form")

    @Test("a campaign file yields validated requests with keys derived from campaign and destination")
    func campaign() throws {
        let file = try CampaignFile.parse("to,objective,priority\n+14155551234,,2\n\"+14155551235\",\"Say \"\"hi\"\", then ask\",\n", defaults: defaults)
        #expect(file.errors.isEmpty)
        #expect(file.requests.count == 2)
        #expect(file.requests[0].request.priority == 2)
        #expect(file.requests[0].request.objective == "Remind about the sale")
        #expect(file.requests[1].request.objective == "Say \"hi\", then ask")
        #expect(file.requests[0].request.idempotencyKey == "campaign:spring:+14155551234")
        #expect(file.lines == [2, 3])
    }

    @Test("bad rows are reported with their line and code, good rows are kept")
    func badRows() throws {
        let text = "to,outcome_schema,max_attempts\n+14155551234,,\n+1415,,\n+14155551236,[1],\n+14155551237,,many\n+14155551238\n"
        let file = try CampaignFile.parse(text, defaults: defaults)
        #expect(file.requests.map(\.request.to) == ["+14155551234"])
        #expect(file.errors.map(\.line) == [3, 4, 5, 6])
        #expect(file.errors.map(\.error.error) == [.invalidPhone, .outcomeSchemaInvalid, .invalidRequest, .invalidRequest])
    }

    @Test("a file without a 'to' column, or with an unknown column, is refused whole")
    func badHeader() {
        #expect(throws: OpenPhnError.self) { try CampaignFile.parse("phone\n+14155551234\n", defaults: defaults) }
        #expect(throws: OpenPhnError.self) { try CampaignFile.parse("to,colour\n+14155551234,red\n", defaults: defaults) }
    }

    @Test("consent columns: a row's own purpose and consent override the defaults; rows without consent or telemarketing without PEWC are bad rows")
    func consentColumns() throws {
        let noConsent = CallRequest(tenantID: "acme", to: "", campaignID: "spring", objective: "Remind")
        let text = """
            to,purpose,consent_type,consent_at,consent_source
            +14155551234,informational,pec,2025-01-02T03:04:05Z,web form 17
            +14155551235,telemarketing,pec,,
            +14155551236,telemarketing,pewc,,signed form
            +14155551237,,,,
            """
        let file = try CampaignFile.parse(text, defaults: noConsent)
        #expect(file.lines == [2, 4])
        #expect(file.requests[0].request.consentType == .priorExpress && file.requests[0].request.consentSource == "web form 17")
        #expect(file.requests[0].request.consentAt == ISO8601Instant.instant("2025-01-02T03:04:05Z"))
        #expect(file.requests[1].request.purpose == .telemarketing && file.requests[1].request.consentType == .priorExpressWritten)
        #expect(file.errors.map(\.line) == [3, 5])
        #expect(file.errors.map(\.error.error) == [.consentRequired, .consentRequired])
        #expect(file.errors[0].description.hasPrefix("line 3: consent_required: "))
        #expect(file.errors[1].error.details["consent_type"] == .null)
        // The command line's defaults fill the cells a row leaves empty.
        let filled = try CampaignFile.parse("to,consent_type\n+14155551237,\n", defaults: defaults)
        #expect(filled.errors.isEmpty && filled.requests[0].request.consentType == .priorExpress)
    }
}
