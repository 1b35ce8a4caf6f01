import Foundation

/// A tenant's verification state, as `tenants.verification_status` stores it.
public enum VerificationStatus: String, Sendable, Hashable, Codable {
    case pendingReview = "pending_review"
    case approved
    case rejected
}

/// A job the worker holds a lease on, with everything the gate and the dial need: the claim returns all of it in one
/// round trip, so there is no per-job lookup.
public struct ClaimedCall: Sendable, Hashable {
    public let jobID: Int64
    public let tenantID: String
    public let campaignID: String?
    /// Destination as stored (E.164); the gate validates it again.
    public let destination: String
    /// The attempt this claim counts (1-based); outcomes are fenced on it.
    public let attempt: Int
    public let maxAttempts: Int
    public let expiresAt: Date?
    public let verification: VerificationStatus
    /// The tenant's Twilio subaccount (`AC...`), or `nil` when none is configured.
    public let subaccountSID: String?
    /// The job's caller number.
    public let callerE164: String
    public let callerActive: Bool
    /// `false` when the job's caller number no longer belongs to the job's tenant.
    public let callerOwnedByTenant: Bool
    /// The database's clock at the claim: gate decisions use it, not the worker's clock.
    public let claimedAt: Date
    /// Why the call is placed: it decides which consent the gate requires (``ConsentRule``).
    public let purpose: CallPurpose
    /// The consent evidence the job carries now (read at the claim, so evidence removed after enqueue counts); `nil`: none.
    public let consentType: ConsentType?
    /// The destination is on the global do-not-call list (checked in the claim statement, at claim time).
    public var onGlobalDNC: Bool
    /// The destination is on this tenant's own do-not-call list.
    public var onTenantDNC: Bool
    /// The tenant's own, stricter daily window in the callee's local time, if it set one.
    public var tenantWindow: DailyWindow?
    /// Calls this tenant placed to this destination in the last 24 hours, and the oldest of them (frequency caps).
    public var recentDials: Int
    public var oldestRecentDial: Date?

    public init(
        jobID: Int64, tenantID: String, campaignID: String?, destination: String, attempt: Int, maxAttempts: Int, expiresAt: Date?,
        verification: VerificationStatus, subaccountSID: String?, callerE164: String, callerActive: Bool, callerOwnedByTenant: Bool,
        claimedAt: Date, purpose: CallPurpose, consentType: ConsentType?, onGlobalDNC: Bool = false, onTenantDNC: Bool = false,
        tenantWindow: DailyWindow? = nil, recentDials: Int = 0, oldestRecentDial: Date? = nil
    ) {
        self.jobID = jobID
        self.tenantID = tenantID
        self.campaignID = campaignID
        self.destination = destination
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.expiresAt = expiresAt
        self.verification = verification
        self.subaccountSID = subaccountSID
        self.callerE164 = callerE164
        self.callerActive = callerActive
        self.callerOwnedByTenant = callerOwnedByTenant
        self.claimedAt = claimedAt
        self.purpose = purpose
        self.consentType = consentType
        self.onGlobalDNC = onGlobalDNC
        self.onTenantDNC = onTenantDNC
        self.tenantWindow = tenantWindow
        self.recentDials = recentDials
        self.oldestRecentDial = oldestRecentDial
    }
}
