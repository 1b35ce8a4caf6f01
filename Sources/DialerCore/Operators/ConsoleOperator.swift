import Foundation

/// What an operator may do in the console. Ordered: each role may do all that the ones before it may.
public enum OperatorRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Sees campaigns, calls and the audit; acts on nothing.
    case viewer
    /// Also pauses, resumes, cancels and retries.
    case `operator`
    /// Also sees callees' whole phone numbers.
    case admin

    public static func < (lhs: OperatorRole, rhs: OperatorRole) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a `--role` value, or throws `invalid_request` naming the roles there are.
    public static func parse(_ text: String, field: String = "role") throws(OpenPhnError) -> OperatorRole {
        guard let role = OperatorRole(rawValue: text) else {
            throw OpenPhnError(.invalidRequest, "\(field) must be one of viewer, operator, admin (got '\(text)').",
                               details: ["field": .string(field)], status: 422)
        }
        return role
    }
}

/// A person who signs in to the operator console (`dialer operators add`), as the console sees them: never their
/// password hash.
public struct ConsoleOperator: Sendable, Hashable {
    /// The sign-in name: letters, digits and `._@-`, at most 64.
    public let id: String
    /// The one tenant the operator sees and acts on; `nil`: every tenant.
    public let tenantID: String?
    public let role: OperatorRole

    public init(id: String, tenantID: String?, role: OperatorRole) {
        self.id = id
        self.tenantID = tenantID
        self.role = role
    }

    /// The audit log's actor for what this operator does in the console.
    public var actor: String { "console:\(id)" }

    /// Whether the operator may act (pause, resume, cancel, retry) rather than only look.
    public var mayAct: Bool { role >= .operator }

    /// Whether callees' numbers are shown whole to this operator.
    public var seesWholeNumbers: Bool { role >= .admin }

    /// Whether the operator may see `tenant`'s campaigns and calls.
    public func sees(tenant: String) -> Bool { tenantID == nil || tenantID == tenant }

    /// A callee's number as this operator may see it: whole for an admin, else masked as the logs mask it
    /// (``PhoneNumber/mask(_:)``: the last four digits hidden, the area code and exchange kept for calling hours).
    public func shows(number: String) -> String {
        seesWholeNumbers ? number : PhoneNumber.mask(number)
    }

    /// Checks an operator id (`dialer operators add --id`), or throws `invalid_request`.
    public static func validate(id: String) throws(OpenPhnError) {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")
        guard (1...64).contains(id.count), id.allSatisfy({ allowed.contains($0) }) else {
            throw OpenPhnError(.invalidRequest, "An operator id is 1 to 64 letters, digits or . _ @ - (got '\(id.prefix(80))').",
                               details: ["field": "id"], status: 422)
        }
    }
}
