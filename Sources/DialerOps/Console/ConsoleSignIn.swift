import DialerCore
import Foundation
import Logging
import NIOPosix

/// The console's sign-in: checks a name and password against the stored scrypt hash, off the event loops and the
/// cooperative pool (a hash costs 128 MiB and a few hundred milliseconds of one core), at most ``concurrentHashes`` at
/// a time per process; more at once are answered `rate_limited` without hashing, so a flood of sign-ins cannot
/// exhaust memory or starve the callbacks this process also serves. Wrong passwords lock an account after
/// ``JobStore/signInFailuresBeforeLock`` in a row (``JobStore/recordFailedSignIn(operator:)``); an unknown name costs
/// the same hash as a known one (``PasswordHash/decoy``), so the answer does not tell which names exist.
actor ConsoleSignIn {
    static let concurrentHashes = 2
    private let store: JobStore
    private let logger: Logger
    private var hashing = 0

    init(store: JobStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Signs `name` in, or throws `signin_failed` (wrong name or password, disabled account), `rate_limited` (the
    /// account is locked, `details.retry_after_seconds`; or too many sign-ins at once).
    func signIn(name: String, password: String, userAgent: String?) async throws -> IssuedConsoleSession {
        let failed = OpenPhnError(.signinFailed, "The operator name or the password is wrong.")
        guard !name.isEmpty, name.count <= 64, !password.isEmpty, password.count <= PasswordHash.maximumLength else { throw failed }
        let credentials = try await store.credentials(operator: name)
        if let locked = credentials?.lockedUntil {
            let seconds = max(1, Int(locked.timeIntervalSinceNow.rounded(.up)))
            throw OpenPhnError(.rateLimited, "Too many wrong passwords for this account; try again in \(seconds / 60 + 1) minutes.",
                               details: ["retry_after_seconds": .number(Double(seconds))])
        }
        let matched = try await verify(password, against: credentials?.passwordHash ?? PasswordHash.decoy)
        guard let credentials, matched, !credentials.disabled else {
            if credentials != nil, !matched {
                let lockedNow = try await store.recordFailedSignIn(operator: name)
                logger.warning("console sign-in failed", metadata: ["operator": "\(name)", "locked": "\(lockedNow != nil)"])
            } else if let credentials {
                logger.warning("console sign-in failed", metadata: ["operator": "\(credentials.account.id)", "disabled": "true"])
            } else {
                // A name that is no account is not logged: people type their password into the name field.
                logger.warning("console sign-in failed", metadata: ["operator": "(no such account)"])
            }
            throw failed
        }
        var rehash: String?
        if PasswordHash.needsRehash(credentials.passwordHash) {
            rehash = try await NIOThreadPool.singleton.runIfActive { try PasswordHash.current.hash(password) }
        }
        let issued = try await store.beginConsoleSession(credentials.account, userAgent: userAgent, rehash: rehash)
        logger.notice("console sign-in", metadata: ["operator": "\(credentials.account.id)", "role": "\(credentials.account.role.rawValue)"])
        return issued
    }

    private func verify(_ password: String, against stored: String) async throws -> Bool {
        guard hashing < Self.concurrentHashes else {
            throw OpenPhnError(.rateLimited, "Too many sign-ins at once; try again in a second.", details: ["retry_after_seconds": 1])
        }
        hashing += 1
        defer { hashing -= 1 }
        return try await NIOThreadPool.singleton.runIfActive { PasswordHash.verify(password, against: stored) }
    }
}
