import Foundation

extension FakeTwilio {
    /// What the fake knows: the credentials it accepts, the accounts they reach and the numbers each owns, the test
    /// credentials, and how fast calls move through their lifecycle.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `run(onListening:)` reports it.
        public var port: Int
        /// Accepted HTTP Basic credentials: the platform's account SID (or API key SID) and its secret.
        public var username: String
        /// Also the auth token that signs status callbacks (`X-Twilio-Signature`) of calls in accounts without a token of
        /// their own.
        public var password: String
        /// Simulated calls per second of each account: calls above it are still created, queued, with the wait in the
        /// 201's `queue_time`. `nil` (the default) is unlimited, so `queue_time` is always "0".
        public var callsPerSecond: Double?
        /// The (sub)accounts the platform credentials reach and the numbers each owns (or verified): any other account
        /// in a path is 404/20404, any other `From` is 400/21210. `POST /_fake/accounts` adds more at run time.
        public var accounts: [Account]
        /// Twilio's test credentials (twilio.md section 4): only with them do the magic numbers mean anything.
        public var testCredentials: TestCredentials?
        public var timings: Timings
        /// Seconds on the fake's clock that one Twilio second lasts (`--time-scale`; 0.01: a 60 s `Timeout` rings 0.6 s):
        /// applied to `Timeout`, `TimeLimit`, AMD's detection time and every ring or talk time given in Twilio seconds
        /// (scripts, the outcome mix), and reported back unscaled (`duration`, `CallDuration`). `timings` are not scaled.
        public var timeScale: Double
        /// How calls to destinations without a scripted outcome end; `nil` (the default): they all complete.
        public var outcomeMix: OutcomeMix?
        /// What the status callbacks suffer on the way (default none).
        public var callbackFaults: CallbackFaults
        /// The seed of every random choice (``FakeDice``): the mix's draws and the callback faults.
        public var seed: UInt64
        /// Calls per page of Read Calls when the request names no `PageSize` (Twilio's is 50; small here so clients page).
        public var defaultPageSize: Int
        /// Calls whose callbacks are in flight at once (each call's go one after the other); Twilio's own is unbounded,
        /// so a load test raises it to make callbacks arrive at the rate calls end, not at the receiver's latency.
        public var callbackConcurrency: Int = 64

        public init(host: String = "127.0.0.1", port: Int = 0, username: String, password: String, callsPerSecond: Double? = nil,
                    accounts: [Account] = [], testCredentials: TestCredentials? = nil, timings: Timings = Timings(), defaultPageSize: Int = 5,
                    timeScale: Double = 1, outcomeMix: OutcomeMix? = nil, callbackFaults: CallbackFaults = .none,
                    seed: UInt64 = Configuration.defaultSeed)
        {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.callsPerSecond = callsPerSecond
            self.accounts = accounts
            self.testCredentials = testCredentials
            self.timings = timings
            self.defaultPageSize = defaultPageSize
            self.timeScale = timeScale
            self.outcomeMix = outcomeMix
            self.callbackFaults = callbackFaults
            self.seed = seed
        }

        /// The seed when none is given: fixed, so two runs of the fake draw alike.
        public static let defaultSeed: UInt64 = 20_261_202
    }

    /// An account (or subaccount) reachable with the platform credentials, and the numbers it may call from.
    ///
    /// JSON (`POST /_fake/accounts`): `{"sid": "AC...", "numbers": ["+1..."], "auth_token": "...", "friendly_name": "..."}`.
    public struct Account: Sendable, Hashable, Codable {
        /// `AC` and 32 hex digits.
        public var sid: String
        /// E.164 numbers the account bought or verified: the only valid `From` of its calls.
        public var numbers: Set<String>
        /// The account's own auth token, as a Twilio subaccount has: it signs the callbacks of the account's calls, and
        /// with the SID it is a credential that reaches this account only. `nil`: the platform password does both.
        public var authToken: String?
        /// The Account resource's `friendly_name` (default `Subaccount AC...`).
        public var friendlyName: String?

        public init(sid: String, numbers: Set<String>, authToken: String? = nil, friendlyName: String? = nil) {
            self.sid = sid
            self.numbers = numbers
            self.authToken = authToken
            self.friendlyName = friendlyName
        }

        enum CodingKeys: String, CodingKey {
            case sid, numbers
            case authToken = "auth_token"
            case friendlyName = "friendly_name"
        }
    }

    /// A test account SID and its test auth token. With them Create Call validates as usual, honours the magic numbers
    /// (From `+15005550006` is the only valid caller), places no call and sends no callback; reading calls is 403/20008.
    public struct TestCredentials: Sendable, Hashable {
        public var accountSID: String
        public var authToken: String

        public init(accountSID: String, authToken: String) {
            self.accountSID = accountSID
            self.authToken = authToken
        }
    }

    /// How long a call spends in each status, on the fake's clock. Short by default so tests stay fast.
    public struct Timings: Sendable, Hashable {
        /// `queued` after the call's `queue_time`, before Twilio places it (`start_time`, the `initiated` callback).
        public var queued: Duration
        /// `ringing`, until the callee answers or the call ends busy, unanswered or failed.
        public var ringing: Duration
        /// `in-progress`, for an answered call whose outcome scripts no duration.
        public var inProgress: Duration

        public init(queued: Duration = .milliseconds(50), ringing: Duration = .milliseconds(100), inProgress: Duration = .milliseconds(100)) {
            self.queued = queued
            self.ringing = ringing
            self.inProgress = inProgress
        }
    }
}
