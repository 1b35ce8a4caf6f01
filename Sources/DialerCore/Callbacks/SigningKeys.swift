import Foundation
import Logging

/// The auth tokens a status callback may be signed with: Twilio signs a webhook with the token of the account that owns
/// the call, so a tenant's calls (placed in its subaccount) come signed with the subaccount's token, which the dialer
/// does not configure. It is read from Twilio (``TwilioClient/subaccountAuthToken(_:logger:)``) and kept.
///
/// Only subaccounts of this database's tenants are ever looked up (their list is read from `tenants` at most every
/// `listAge`), so a forged callback naming any other `AccountSid` costs no request to Twilio and no query; a failed
/// lookup is not retried for `retryAfter`. The platform token always counts (calls of the platform account itself).
public actor SigningKeys {
    private let platformToken: Secret
    private let store: JobStore
    private let twilio: TwilioClient?
    private let logger: Logger
    private let listAge: Duration
    private let tokenAge: Duration
    private let retryAfter: Duration
    private var subaccounts: Set<String> = []
    private var listedAt: ContinuousClock.Instant?
    private var tokens: [String: (token: Secret?, at: ContinuousClock.Instant)] = [:]
    /// The reads under way: callbacks arriving together while the list or a token is stale share one read (an actor
    /// method that awaits lets the next caller in, and a burst of callbacks would otherwise each ask).
    private var listing: Task<Set<String>?, Never>?
    private var fetching: [String: Task<Secret?, Never>] = [:]

    public init(platformToken: Secret, store: JobStore, twilio: TwilioClient?, logger: Logger, listAge: Duration = .seconds(30),
                tokenAge: Duration = .seconds(600), retryAfter: Duration = .seconds(30))
    {
        self.platformToken = platformToken
        self.store = store
        self.twilio = twilio
        self.logger = logger
        self.listAge = listAge
        self.tokenAge = tokenAge
        self.retryAfter = retryAfter
    }

    /// The tokens to check a callback from `accountSID` against: the platform's, and the subaccount's when it is one of
    /// this database's tenants.
    public func tokens(forAccount accountSID: String?) async -> [Secret] {
        guard let accountSID, let twilio, await isTenantSubaccount(accountSID) else { return [platformToken] }
        let now = ContinuousClock.now
        if let known = tokens[accountSID], now - known.at < (known.token == nil ? retryAfter : tokenAge) {
            return [platformToken] + (known.token.map { [$0] } ?? [])
        }
        let task = fetching[accountSID] ?? Task { [logger] in
            let token = await twilio.subaccountAuthToken(accountSID, logger: logger)
            if token == nil { logger.warning("reading a subaccount's auth token from Twilio failed", metadata: ["account": "\(accountSID)"]) }
            return token
        }
        fetching[accountSID] = task
        let token = await task.value
        if fetching[accountSID] == task {
            fetching[accountSID] = nil
            tokens[accountSID] = (token, .now)
        }
        return [platformToken] + (token.map { [$0] } ?? [])
    }

    private func isTenantSubaccount(_ sid: String) async -> Bool {
        if listedAt.map({ ContinuousClock.now - $0 >= listAge }) ?? true {
            let task = listing ?? Task { [store, logger] in
                do {
                    return try await store.tenantSubaccounts()
                } catch {
                    logger.warning("reading the tenants' subaccounts failed", metadata: ["error": "\(String(reflecting: error))"])
                    return nil
                }
            }
            listing = task
            let fresh = await task.value
            if listing == task {
                listing = nil
                if let fresh {
                    subaccounts = fresh
                    listedAt = .now
                }
            }
        }
        return subaccounts.contains(sid)
    }
}
