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
    /// Not after this instant; `nil` is never. Must be in the future when the request is validated.
    public var expiresAt: Date?
    /// Same key and same body returns the existing job; same key with another body is a 409.
    public var idempotencyKey: String?
    /// Why the call is placed: a telemarketing call needs written consent (``ConsentRule``).
    public var purpose: CallPurpose
    /// The callee's consent; `nil` (no evidence) is refused with `consent_required`, as is telemarketing without PEWC.
    public var consentType: ConsentType?
    /// When the callee consented; not after the enqueue.
    public var consentAt: Date?
    /// Where the consent is recorded (a web form, a call recording, a CRM id), at most ``maxConsentSourceLength`` characters.
    public var consentSource: String?

    public init(
        tenantID: String, to: String, from: String? = nil, campaignID: String? = nil, objective: String,
        outcomeSchema: JSONValue = .object([:]), priority: Int = 0, runAt: Date? = nil, maxAttempts: Int = 4,
        expiresAt: Date? = nil, idempotencyKey: String? = nil, purpose: CallPurpose = .informational, consentType: ConsentType? = nil,
        consentAt: Date? = nil, consentSource: String? = nil
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
        self.purpose = purpose
        self.consentType = consentType
        self.consentAt = consentAt
        self.consentSource = consentSource
    }

    /// Longest objective accepted, in characters.
    public static let maxObjectiveLength = 4_000
    public static let maxKeyLength = 255
    /// Longest `consent_source` accepted, in characters (the column's CHECK says the same).
    public static let maxConsentSourceLength = 500
    /// Priorities run from 0 (dialed first) to 9 (dialed last); nothing else is a priority.
    public static let priorities = 0...9
    public static let attempts = 1...100

    /// A field of a call request: `rawValue` is its name in the API and in a campaign file's header.
    public enum Field: String, Sendable, CaseIterable {
        case tenantID = "tenant_id", to, from, campaignID = "campaign_id", objective, outcomeSchema = "outcome_schema", priority
        case runAt = "run_at", maxAttempts = "max_attempts", expiresAt = "expires_at", idempotencyKey = "idempotency_key"
        case purpose, consentType = "consent_type", consentAt = "consent_at", consentSource = "consent_source"

        /// The `dialer enqueue` flag that sets it.
        public var flag: String {
            switch self {
            case .tenantID: "--tenant"
            case .campaignID: "--campaign"
            default: "--" + rawValue.replacingOccurrences(of: "_", with: "-")
            }
        }
    }

    /// How messages name a field: as the API and a CSV header do (`priority`), or as the command line does (`--priority`).
    /// Either way `details.field` is the API's name, so the same bad value gets the same error wherever it was typed.
    public enum Naming: Sendable {
        case fields, flags

        public func name(_ field: Field) -> String { self == .fields ? field.rawValue : field.flag }

        func details(_ field: Field) -> [String: JSONValue] {
            self == .fields ? ["field": .string(field.rawValue)] : ["field": .string(field.rawValue), "flag": .string(field.flag)]
        }
    }

    /// Sets `field` from its text, as a CSV cell or a flag gives it; numbers, instants and the schema are parsed here, so
    /// a value is refused with the same error whichever way it came in. Range checks wait for ``validated(now:naming:)``.
    public mutating func set(_ field: Field, text: String, naming: Naming = .fields) throws(OpenPhnError) {
        let name = naming.name(field)
        func integer() throws(OpenPhnError) -> Int {
            guard let value = Int(text) else {
                throw OpenPhnError(.invalidRequest, "\(name) must be a whole number, got '\(Self.shown(text))'.", details: naming.details(field))
            }
            return value
        }
        switch field {
        case .tenantID: tenantID = text
        case .to: to = text
        case .from: from = text
        case .campaignID: campaignID = text
        case .objective: objective = text
        case .idempotencyKey: idempotencyKey = text
        case .consentSource: consentSource = text
        case .purpose:
            guard let value = CallPurpose(text: text) else {
                throw OpenPhnError(.invalidRequest, "\(name) must be informational or telemarketing, got '\(Self.shown(text))'.",
                                   details: naming.details(field))
            }
            purpose = value
        case .consentType:
            guard let value = ConsentType(text: text) else {
                throw OpenPhnError(.invalidRequest,
                                   "\(name) must be prior_express_written (or pewc) or prior_express (or pec), got '\(Self.shown(text))'.",
                                   details: naming.details(field))
            }
            consentType = value
        case .consentAt: consentAt = try ISO8601Instant.parse(text, name: name, details: naming.details(field))
        case .outcomeSchema:
            guard let schema = JSONValue.parse(text) else {
                throw OpenPhnError(.outcomeSchemaInvalid, "\(name) is not valid JSON.", details: naming.details(field))
            }
            outcomeSchema = schema
        case .priority: priority = try integer()
        case .maxAttempts: maxAttempts = try integer()
        case .runAt: runAt = try ISO8601Instant.parse(text, name: name, details: naming.details(field))
        case .expiresAt: expiresAt = try ISO8601Instant.parse(text, name: name, details: naming.details(field))
        }
    }

    /// A cell or flag value as messages quote it: at most 40 characters.
    private static func shown(_ text: String) -> String { text.count > 40 ? String(text.prefix(40)) + "..." : text }

    /// Checks every field; the first problem found is returned as the OpenPhn error a client would get. Consent comes
    /// last: a call without the consent its purpose needs (``ConsentRule``) is `consent_required`.
    /// - Parameters:
    ///   - now: the clock at enqueue; an `expires_at` not after it is refused (the job could only fail later), and so is a
    ///     `consent_at` after it (consent is evidence of the past).
    ///   - naming: whether messages name the fields or the command line's flags.
    public func validated(now: Date = Date(), naming: Naming = .fields) throws(OpenPhnError) -> ValidatedCallRequest {
        guard !tenantID.isEmpty, tenantID.count <= 128, !tenantID.utf8.contains(0) else {
            throw invalid(.tenantID, "is required (at most 128 characters, no NUL).", naming)
        }
        let destination: PhoneNumber
        do {
            destination = try PhoneNumber(validating: to)
            try NumberPlan.shipped.validate(destination)
        } catch { throw error.merging(naming.details(.to)) }
        guard !objective.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw invalid(.objective, "is required.", naming) }
        let caller = try validateDefaults(now: now, naming: naming)
        if let violation = ConsentRule.violation(purpose: purpose, consent: consentType) {
            let evidence = "with \(naming.name(.consentAt)) and \(naming.name(.consentSource))."
            let hint = consentType == nil
                ? " Give \(naming.name(.consentType)) (prior_express or prior_express_written), \(evidence)"
                : " Give \(naming.name(.consentType)) prior_express_written, \(evidence)"
            throw OpenPhnError(violation.error, violation.message + hint, details: violation.details.merging(naming.details(.consentType)) { $1 })
        }
        return ValidatedCallRequest(request: self, destination: destination, caller: caller)
    }

    /// Checks the fields a campaign's rows inherit from the command line (all but the tenant, the destination and a
    /// missing objective), so a bad flag is refused once, naming the flag, rather than once per row.
    /// - Returns: the caller number, when one is set.
    @discardableResult
    public func validateDefaults(now: Date = Date(), naming: Naming = .fields) throws(OpenPhnError) -> PhoneNumber? {
        var caller: PhoneNumber?
        // PostgreSQL's text and jsonb cannot store U+0000: a value holding it is the caller's error, not a failed insert.
        let texts: [(Field, String?)] = [(.objective, objective), (.campaignID, campaignID), (.idempotencyKey, idempotencyKey),
                                         (.consentSource, consentSource)]
        for case let (field, text?) in texts where text.utf8.contains(0) {
            throw invalid(field, "holds the NUL character (U+0000), which it may not contain.", naming)
        }
        if outcomeSchema.firstNULPath != nil {
            throw OpenPhnError(.outcomeSchemaInvalid, "\(naming.name(.outcomeSchema)) holds the NUL character (U+0000), which it may not contain.",
                               details: naming.details(.outcomeSchema))
        }
        if let from {
            do { caller = try PhoneNumber(validating: from) } catch { throw error.merging(naming.details(.from)) }
        }
        guard objective.count <= Self.maxObjectiveLength else {
            throw invalid(.objective, "is too long: \(objective.count) characters, at most \(Self.maxObjectiveLength).", naming, unprocessable: true,
                          extra: ["length": .number(Double(objective.count)), "max_length": .number(Double(Self.maxObjectiveLength))])
        }
        do { try OutcomeSchema.validate(outcomeSchema, name: naming.name(.outcomeSchema)) } catch {
            throw naming == .fields ? error : error.merging(["flag": .string(Field.outcomeSchema.flag)])
        }
        guard Self.priorities.contains(priority) else {
            throw invalid(.priority, "must be from 0 (dials first) to 9 (dials last), got \(priority).", naming, unprocessable: true)
        }
        guard Self.attempts.contains(maxAttempts) else { throw invalid(.maxAttempts, "must be from 1 to 100, got \(maxAttempts).", naming, unprocessable: true) }
        if let key = idempotencyKey, key.isEmpty || key.count > Self.maxKeyLength {
            throw invalid(.idempotencyKey, "must be 1 to \(Self.maxKeyLength) characters.", naming, unprocessable: true)
        }
        if let campaignID, campaignID.isEmpty || campaignID.count > 128 {
            throw invalid(.campaignID, "must be 1 to 128 characters.", naming, unprocessable: true)
        }
        if let expiresAt, expiresAt <= now {
            throw invalid(.expiresAt, "\(ISO8601Instant.string(expiresAt)) is in the past: the job could never be dialed.", naming, unprocessable: true,
                          extra: ["expires_at": .string(ISO8601Instant.string(expiresAt)), "now": .string(ISO8601Instant.string(now))])
        }
        if let expiresAt, let runAt, expiresAt <= runAt {
            throw invalid(.expiresAt, "must be after \(naming.name(.runAt)).", naming, unprocessable: true)
        }
        if let consentAt, consentAt > now {
            throw invalid(.consentAt, "\(ISO8601Instant.string(consentAt)) is in the future: consent must have been given before the call is enqueued.",
                          naming, unprocessable: true, extra: ["consent_at": .string(ISO8601Instant.string(consentAt)), "now": .string(ISO8601Instant.string(now))])
        }
        if let consentSource, consentSource.isEmpty || consentSource.count > Self.maxConsentSourceLength {
            throw invalid(.consentSource, "must be 1 to \(Self.maxConsentSourceLength) characters, got \(consentSource.count).", naming, unprocessable: true,
                          extra: ["length": .number(Double(consentSource.count)), "max_length": .number(Double(Self.maxConsentSourceLength))])
        }
        return caller
    }

    /// - Parameter unprocessable: the request is well formed but this value fails validation: 422 over HTTP, not 400.
    private func invalid(_ field: Field, _ problem: String, _ naming: Naming, unprocessable: Bool = false, extra: [String: JSONValue] = [:]) -> OpenPhnError {
        OpenPhnError(.invalidRequest, "\(naming.name(field)) \(problem)", details: naming.details(field).merging(extra) { $1 },
                     status: unprocessable ? 422 : nil)
    }
}

extension OpenPhnError {
    /// The same error with `extra` added to its details.
    func merging(_ extra: [String: JSONValue]) -> OpenPhnError {
        var copy = self
        copy.details.merge(extra) { $1 }
        return copy
    }
}

/// A ``CallRequest`` whose fields passed validation.
public struct ValidatedCallRequest: Sendable, Hashable {
    public let request: CallRequest
    public let destination: PhoneNumber
    public let caller: PhoneNumber?

    /// The body the idempotency hash covers: every field that changes what call is placed, its consent evidence included.
    /// Sorted-key JSON, so equal bodies give equal text and the database hashes it with SHA-256.
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
        // The consent a job carries is part of what was asked: the same key with other evidence is another request.
        body["purpose"] = .string(r.purpose.rawValue)
        if let c = r.consentType { body["consent_type"] = .string(c.rawValue) }
        if let t = r.consentAt { body["consent_at"] = .number(t.timeIntervalSince1970.rounded()) }
        if let s = r.consentSource { body["consent_source"] = .string(s) }
        return JSONValue.object(body).jsonText
    }
}

/// The shape rules for an agent's `outcome_schema`.
public enum OutcomeSchema {
    /// A schema is a JSON object; where it says `type` it says "object", and where it has `properties` they are an object of objects.
    /// - Parameter name: how messages name the schema: the field (`outcome_schema`) or the flag (`--outcome-schema`).
    public static func validate(_ schema: JSONValue, name: String = "outcome_schema") throws(OpenPhnError) {
        guard case .object(let fields) = schema else {
            throw OpenPhnError(.outcomeSchemaInvalid, "\(name) must be a JSON object.", details: ["field": "outcome_schema"])
        }
        if let type = fields["type"], type != .string("object") {
            throw OpenPhnError(.outcomeSchemaInvalid, "\(name).type must be \"object\".", details: ["field": "outcome_schema.type"])
        }
        if let properties = fields["properties"] {
            guard case .object(let props) = properties else {
                throw OpenPhnError(.outcomeSchemaInvalid, "\(name).properties must be an object.", details: ["field": "outcome_schema.properties"])
            }
            for (property, value) in props.sorted(by: { $0.key < $1.key }) {
                guard case .object = value else {
                    throw OpenPhnError(.outcomeSchemaInvalid, "\(name).properties.\(property) must be an object.",
                                       details: ["field": .string("outcome_schema.properties.\(property)")])
                }
            }
        }
    }
}
