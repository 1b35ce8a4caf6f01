import Foundation

/// A request to place one call, as a tenant (or a campaign file) submits it. `validated()` turns it into a
/// ``ValidatedCallRequest`` or an OpenPhn error; nothing reaches the database unvalidated.
public struct CallRequest: Sendable, Hashable {
    public var tenantID: String
    /// Destination in E.164.
    public var to: String
    /// Caller number in E.164; `nil` uses the tenant's selected active number.
    public var from: String?
    public var campaignID: String?
    /// What the AI agent should achieve on the call.
    public var objective: String
    /// JSON schema the agent fills with the call's outcome. Must be a JSON object.
    public var outcomeSchema: JSONValue
    /// 0 dials first, 9 last.
    public var priority: Int
    /// Not before this instant; `nil` is now.
    public var runAt: Date?
    public var maxAttempts: Int
    /// Not after this instant; `nil` is never.
    public var expiresAt: Date?
    /// Same key and same body returns the existing job; same key with another body is a 409.
    public var idempotencyKey: String?

    public init(
        tenantID: String, to: String, from: String? = nil, campaignID: String? = nil, objective: String,
        outcomeSchema: JSONValue = .object([:]), priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 4,
        expiresAt: Date? = nil, idempotencyKey: String? = nil
    ) {
        self.tenantID = tenantID
        self.to = to
        self.from = from
        self.campaignID = campaignID
        self.objective = objective
        self.outcomeSchema = outcomeSchema
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.expiresAt = expiresAt
        self.idempotencyKey = idempotencyKey
    }

    /// Longest objective accepted, in characters.
    public static let maxObjectiveLength = 4_000
    public static let maxKeyLength = 255

    /// Checks every field; the first problem found is returned as the OpenPhn error a client would get.
    public func validated() throws(OpenPhnError) -> ValidatedCallRequest {
        func invalid(_ message: String, field: String, code: ErrorCode = .invalidRequest) -> OpenPhnError {
            OpenPhnError(code, message, details: ["field": .string(field)])
        }
        guard !tenantID.isEmpty, tenantID.count <= 128 else { throw invalid("tenant_id is required (at most 128 characters).", field: "tenant_id") }
        let destination: PhoneNumber
        do {
            destination = try PhoneNumber(validating: to)
            try NumberPlan.shipped.validate(destination)
        } catch { throw error.with("field", "to") }
        var caller: PhoneNumber?
        if let from {
            do { caller = try PhoneNumber(validating: from) } catch { throw error.with("field", "from") }
        }
        let trimmed = objective.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw invalid("objective is required.", field: "objective") }
        guard objective.count <= Self.maxObjectiveLength else {
            throw OpenPhnError(.invalidRequest, "objective is too long: \(objective.count) characters, at most \(Self.maxObjectiveLength).",
                               details: ["field": "objective", "length": .number(Double(objective.count)),
                                         "max_length": .number(Double(Self.maxObjectiveLength))])
        }
        try OutcomeSchema.validate(outcomeSchema)
        guard (0...9).contains(priority) else { throw invalid("priority must be between 0 and 9.", field: "priority") }
        guard (1...100).contains(maxAttempts) else { throw invalid("max_attempts must be between 1 and 100.", field: "max_attempts") }
        if let key = idempotencyKey, key.isEmpty || key.count > Self.maxKeyLength {
            throw invalid("idempotency_key must be 1 to \(Self.maxKeyLength) characters.", field: "idempotency_key")
        }
        if let campaignID, campaignID.isEmpty || campaignID.count > 128 {
            throw invalid("campaign_id must be 1 to 128 characters.", field: "campaign_id")
        }
        if let expiresAt, let runAt, expiresAt <= runAt {
            throw invalid("expires_at must be after run_at.", field: "expires_at")
        }
        return ValidatedCallRequest(request: self, destination: destination, caller: caller)
    }
}

/// A ``CallRequest`` whose fields passed validation.
public struct ValidatedCallRequest: Sendable, Hashable {
    public let request: CallRequest
    public let destination: PhoneNumber
    public let caller: PhoneNumber?

    /// The body the idempotency hash covers: every field that changes what call is placed. Sorted-key JSON, so equal
    /// bodies give equal text and the database hashes it with SHA-256.
    public var canonicalBody: String {
        let r = request
        var body: [String: JSONValue] = [
            "to": .string(r.to), "objective": .string(r.objective), "outcome_schema": r.outcomeSchema,
            "priority": .number(Double(r.priority)), "max_attempts": .number(Double(r.maxAttempts)),
        ]
        if let from = r.from { body["from"] = .string(from) }
        if let c = r.campaignID { body["campaign_id"] = .string(c) }
        if let t = r.runAt { body["run_at"] = .number(t.timeIntervalSince1970.rounded()) }
        if let t = r.expiresAt { body["expires_at"] = .number(t.timeIntervalSince1970.rounded()) }
        return JSONValue.object(body).jsonText
    }
}

/// The shape rules for an agent's `outcome_schema`.
public enum OutcomeSchema {
    /// A schema is a JSON object; where it says `type` it says "object", and where it has `properties` they are an object of objects.
    public static func validate(_ schema: JSONValue) throws(OpenPhnError) {
        guard case .object(let fields) = schema else {
            throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema must be a JSON object.", details: ["field": "outcome_schema"])
        }
        if let type = fields["type"], type != .string("object") {
            throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema.type must be \"object\".", details: ["field": "outcome_schema.type"])
        }
        if let properties = fields["properties"] {
            guard case .object(let props) = properties else {
                throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema.properties must be an object.",
                                   details: ["field": "outcome_schema.properties"])
            }
            for (name, value) in props.sorted(by: { $0.key < $1.key }) {
                guard case .object = value else {
                    throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema.properties.\(name) must be an object.",
                                       details: ["field": .string("outcome_schema.properties.\(name)")])
                }
            }
        }
    }
}
