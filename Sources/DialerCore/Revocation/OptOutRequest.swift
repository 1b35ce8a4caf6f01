import Foundation

/// A callee's revocation of consent ("stop calling me"), as `dialer opt-out` or the AI agent (`POST /v1/opt-outs`)
/// reports it. Validation is pure; ``JobStore/optOut(_:actor:)`` applies it.
///
/// FCC 24-24 lets a callee revoke consent "in any reasonable manner" and gives the caller at most ten business days to
/// honour it; the dialer honours it in the same transaction that records it.
public struct OptOutRequest: Sendable, Hashable {
    public let tenantID: String
    /// The number that opted out: it goes on the tenant's do-not-call list.
    public let destination: PhoneNumber
    /// Where the request came from ("said stop on call CA...", "email of 2026-12-01"): the revocation's evidence.
    public let source: String
    /// The call during which the callee opted out, when the agent reports it.
    public let callSID: String?

    public static let maxSourceLength = 500

    /// How messages name the fields: as the JSON body does (`tenant_id`), or as `dialer opt-out` does (`--tenant`).
    public enum Naming: Sendable {
        case fields, flags

        func name(_ field: String) -> String {
            guard self == .flags else { return field }
            return ["tenant_id": "--tenant", "to": "the number", "source": "--source"][field] ?? field
        }
    }

    /// Validates the parts of a request.
    /// - Throws: `invalid_request` naming the field (`details.field`), or `invalid_phone` for a number that is not E.164 NANP.
    public init(tenantID: String, to: String, source: String, callSID: String? = nil, naming: Naming = .fields) throws(OpenPhnError) {
        guard !tenantID.isEmpty, tenantID.count <= 128 else { throw Self.invalid("tenant_id", "is required (at most 128 characters).", naming) }
        do {
            destination = try PhoneNumber(validating: to)
        } catch {
            throw error.merging(["field": "to"])
        }
        let source = source.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !source.isEmpty, source.count <= Self.maxSourceLength else {
            throw Self.invalid("source", "must be 1 to \(Self.maxSourceLength) characters, got \(source.count).", naming)
        }
        if let callSID, callSID.range(of: "^CA[0-9a-fA-F]{32}$", options: .regularExpression) == nil {
            throw Self.invalid("call_sid", "must be a Twilio call SID (CA followed by 32 hex digits).", naming)
        }
        self.tenantID = tenantID
        self.source = source
        self.callSID = callSID
    }

    /// Reads the JSON body of `POST /v1/opt-outs`: `{"tenant_id", "to", "source", "call_sid" (optional)}`.
    /// - Parameter keyTenant: the tenant of the API key that sent it: `tenant_id` may then be left out, and another
    ///   tenant's id is `not_found` (as for any of another tenant's resources).
    /// - Throws: `invalid_request` naming the missing or mistyped field (`body` when the text is not a JSON object).
    public init(json text: String, keyTenant: String? = nil) throws(OpenPhnError) {
        guard case .object(let body)? = JSONValue.parse(text) else {
            throw Self.invalid("body", "must be a JSON object with tenant_id, to and source.", .fields)
        }
        if let path = JSONValue.object(body).firstNULPath {
            throw Self.invalid(String(path.prefix(80)), "holds the NUL character (U+0000), which text here may not contain.", .fields)
        }
        func string(_ field: String, required: Bool = true) throws(OpenPhnError) -> String? {
            switch body[field] {
            case .string(let value)?: return value
            case nil, .null?:
                guard required else { return nil }
                throw Self.invalid(field, "is required.", .fields)
            default: throw Self.invalid(field, "must be a string.", .fields)
            }
        }
        for name in body.keys.sorted() where !["tenant_id", "to", "source", "call_sid"].contains(name) {
            throw Self.invalid(String(name.prefix(40)), "is not a field of an opt-out.", .fields)
        }
        let tenantID: String
        if let keyTenant {
            let named = try string("tenant_id", required: false)
            guard named == nil || named == keyTenant else { throw OpenPhnError(.notFound, "No such tenant.", details: ["field": "tenant_id"]) }
            tenantID = keyTenant
        } else {
            tenantID = try string("tenant_id")!
        }
        let to = try string("to")!, source = try string("source")!
        try self.init(tenantID: tenantID, to: to, source: source, callSID: try string("call_sid", required: false))
    }

    private static func invalid(_ field: String, _ problem: String, _ naming: Naming) -> OpenPhnError {
        OpenPhnError(.invalidRequest, "\(naming.name(field)) \(problem)", details: ["field": .string(field)])
    }
}
