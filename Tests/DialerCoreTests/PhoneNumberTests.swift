import Testing

@testable import DialerCore

@Suite("E.164 NANP numbers and call requests")
struct PhoneNumberTests {
    @Test("valid NANP numbers are accepted", arguments: ["+14155551234", "+12125550123", "+19175550000"])
    func valid(_ text: String) throws {
        let number = try PhoneNumber(validating: text)
        #expect(number.e164 == text)
    }

    @Test("malformed and impossible numbers are invalid_phone",
          arguments: ["4155551234", "+1415555123", "+141555512345", "+44207946000", "+1 415 555 1234", "+10155551234", "+14150551234",
                      "+14115551234", "+14154111234", "", "+1415555abcd"])
    func invalid(_ text: String) {
        #expect(throws: OpenPhnError.self) { try PhoneNumber(validating: text) }
        do { _ = try PhoneNumber(validating: text) } catch { #expect(error.error == .invalidPhone) }
    }

    @Test("logs see only a masked number")
    func masked() throws {
        #expect(try PhoneNumber(validating: "+14155551234").masked == "+1415555****")
        #expect(try PhoneNumber(validating: "+14155551234").numeric == 14_155_551_234)
    }

    func request(_ change: (inout CallRequest) -> Void = { _ in }) -> CallRequest {
        var r = CallRequest(tenantID: "acme", to: "+14155551234", objective: "Confirm the appointment", consentType: .priorExpress)
        change(&r)
        return r
    }

    @Test("each bad field gets its OpenPhn code")
    func requestValidation() {
        func code(_ change: (inout CallRequest) -> Void) -> ErrorCode? {
            do { _ = try request(change).validated(); return nil } catch { return error.error }
        }
        #expect(code { _ in } == nil)
        #expect(code { $0.to = "+1555" } == .invalidPhone)
        #expect(code { $0.from = "12" } == .invalidPhone)
        #expect(code { $0.objective = String(repeating: "x", count: CallRequest.maxObjectiveLength + 1) } == .invalidRequest)
        #expect(code { $0.objective = "  " } == .invalidRequest)
        #expect(code { $0.outcomeSchema = .array([]) } == .outcomeSchemaInvalid)
        #expect(code { $0.outcomeSchema = .object(["type": "string"]) } == .outcomeSchemaInvalid)
        #expect(code { $0.outcomeSchema = .object(["properties": .object(["x": 1])]) } == .outcomeSchemaInvalid)
        #expect(code { $0.priority = 10 } == .invalidRequest)
        #expect(code { $0.maxAttempts = 0 } == .invalidRequest)
        #expect(code { $0.tenantID = "" } == .invalidRequest)
    }

    @Test("the idempotency body is the same for equal requests and differs when any call field differs")
    func canonicalBody() throws {
        let a = try request().validated().canonicalBody
        #expect(a == (try request().validated().canonicalBody))
        #expect(a != (try request { $0.objective = "Something else" }.validated().canonicalBody))
        #expect(a != (try request { $0.priority = 3 }.validated().canonicalBody))
        let schemaA = try request { $0.outcomeSchema = .object(["b": 1, "a": 2]) }.validated().canonicalBody
        let schemaB = try request { $0.outcomeSchema = .object(["a": 2, "b": 1]) }.validated().canonicalBody
        #expect(schemaA == schemaB)
    }

    @Test("OpenPhn errors encode as {error, message, details} and decode back")
    func errorShape() throws {
        let error = OpenPhnError(.dncBlocked, "Destination +14155551234 is on the global DNC list.", details: ["suppression_source": "global"])
        let json = try #require(JSONValue.parse(error.jsonText))
        #expect(json["error"] == "dnc_blocked")
        #expect(json["details"]?["suppression_source"] == "global")
        #expect(OpenPhnError.parse(error.jsonText) == error)
    }
}
