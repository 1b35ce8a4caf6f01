import Foundation

/// The fake's state: the ledger of created calls (ground truth for how often each destination was dialed), the status
/// callbacks sent for them, the scripted answers still to give, each account's calls-per-second queue, the accounts
/// added at run time, and the fake's clock.
public actor FakeTwilioLedger {
    /// Calls created with the platform credentials, oldest first: every one rings someone.
    public private(set) var calls: [FakeCall] = []
    /// Calls "created" with the test credentials: answered 201, but Twilio places no call for them.
    public private(set) var testCalls: [FakeCall] = []
    /// Every status callback sent, failed or skipped, in the order they were attempted.
    public private(set) var callbacks: [FakeCallback] = []
    /// Every Create Call request received, accepted or not.
    public private(set) var requests = 0
    /// Every Fetch Account request received (`GET /Accounts/{Sid}.json`), answered or refused.
    public private(set) var accountReads = 0
    private var scripts: [String: [FakeResponse]] = [:]
    /// Answers for any destination without a script of its own, used in order (then normal behaviour).
    private var globalScript: [FakeResponse] = []
    private var outcomes: [String: FakeCallOutcome] = [:]
    private var callbackScripts: [String: CallbackScript] = [:]
    /// Per destination: how many calls were created to it (the next call's ``FakeCall/dialIndex``).
    private var dialCounts: [String: Int] = [:]
    /// Set at run time (`POST /_fake/config`), it wins over the configured rate; 0 means unlimited.
    private var callsPerSecondOverride: Double?
    /// Per account: when its queue next has room to place a call (fake clock).
    private var nextPlacement: [String: Date] = [:]
    /// Accounts added with `POST /_fake/accounts`, beside the configured ones, with their numbers and tokens.
    private var addedAccounts: [String: FakeTwilio.Account] = [:]
    /// When the ledger was made: the `date_created` of every account the fake knows.
    public nonisolated let startedAt = Date()
    /// How far the fake's clock runs ahead of the system clock (``advanceClock(by:)``).
    private var clockOffset: TimeInterval = 0
    /// Read Calls requests answered (every page counts).
    public private(set) var listRequests = 0
    private var afterListHook: (@Sendable () async -> Void)?

    public init() {}

    /// The fake's clock: the system clock plus whatever tests advanced it by. Calls are created, leave the queue,
    /// ring, answer and end on it; status callbacks wait for it.
    public func now() -> Date { Date(timeIntervalSinceNow: clockOffset) }

    /// Moves the fake's clock (forward, or back with a negative duration): calls change status as if that time had passed.
    /// Callbacks already waiting notice at their next wait.
    public func advanceClock(by interval: Duration) {
        clockOffset += interval.timeInterval
    }

    /// Runs `hook` after each Read Calls page is computed and before it is sent (`nil` removes it): a test can make
    /// calls change status between the pages or requests of one lookup, deterministically.
    public func afterEachList(_ hook: (@Sendable () async -> Void)?) {
        afterListHook = hook
    }

    func listServed() async {
        listRequests += 1
        if let afterListHook { await afterListHook() }
    }

    /// Adds an account reachable with the platform credentials, or more numbers to one (`POST /_fake/accounts`); a
    /// token or friendly name given replaces the one it had.
    public func addAccount(_ account: FakeTwilio.Account) {
        var known = addedAccounts[account.sid] ?? FakeTwilio.Account(sid: account.sid, numbers: [])
        known.numbers.formUnion(account.numbers)
        known.authToken = account.authToken ?? known.authToken
        known.friendlyName = account.friendlyName ?? known.friendlyName
        addedAccounts[account.sid] = known
    }

    /// The numbers of an account added at run time; `nil` when none was.
    func addedNumbers(of account: String) -> Set<String>? { addedAccounts[account]?.numbers }

    /// An account added at run time.
    func addedAccount(_ sid: String) -> FakeTwilio.Account? { addedAccounts[sid] }

    /// The accounts added at run time.
    public var accountsAdded: [FakeTwilio.Account] {
        addedAccounts.values.sorted { $0.sid < $1.sid }
    }

    /// Queues answers for calls to `to`; each request to it takes the next one.
    public func script(to: String, _ responses: [FakeResponse]) {
        scripts[to, default: []] += responses
    }

    /// Queues answers for the next requests to any destination without its own script.
    public func scriptAll(_ responses: [FakeResponse]) {
        globalScript += responses
    }

    /// How every call to `to` ends from now on (its status callbacks); calls to other destinations complete, or draw
    /// from the configured outcome mix.
    public func scriptOutcome(to: String, _ outcome: FakeCallOutcome) {
        outcomes[to] = outcome
    }

    /// What happens to the status callbacks of every call to `to` from now on, instead of the random faults.
    public func scriptCallbacks(to: String, _ script: CallbackScript) {
        callbackScripts[to] = script
    }

    /// Applies a script entry.
    public func apply(_ script: FakeScript) {
        if let to = script.to {
            self.script(to: to, script.responses)
            if let outcome = script.outcome { outcomes[to] = outcome }
            if let callbacks = script.callbacks { callbackScripts[to] = callbacks }
        } else {
            scriptAll(script.responses)
        }
    }

    /// Overrides the configured calls per second of every account: `nil` restores it, 0 or less makes it unlimited.
    public func setCallsPerSecond(_ callsPerSecond: Double?) {
        callsPerSecondOverride = callsPerSecond
        nextPlacement.removeAll()
    }

    /// Forgets everything set or created at run time (calls, callbacks, scripts, the rate override, added accounts, the
    /// clock's offset, the list hook): the fake is as configured again.
    public func reset() {
        calls.removeAll()
        testCalls.removeAll()
        addedAccounts.removeAll()
        clockOffset = 0
        listRequests = 0
        afterListHook = nil
        callbacks.removeAll()
        requests = 0
        scripts.removeAll()
        globalScript.removeAll()
        outcomes.removeAll()
        callbackScripts.removeAll()
        dialCounts.removeAll()
        callsPerSecondOverride = nil
        nextPlacement.removeAll()
    }

    /// Calls created for one destination.
    public func calls(to: String) -> [FakeCall] { calls.filter { $0.to == to } }

    /// Status callbacks of one call, in the order they were attempted.
    public func callbacks(callSID: String) -> [FakeCallback] { callbacks.filter { $0.callSID == callSID } }

    func nextResponse(for to: String) -> FakeResponse? {
        requests += 1
        if var queue = scripts[to], !queue.isEmpty {
            let next = queue.removeFirst()
            scripts[to] = queue
            return next
        }
        return globalScript.isEmpty ? nil : globalScript.removeFirst()
    }

    /// Creates a call, its whole timeline fixed now (see ``FakeCall/status(at:)``). Above the account's calls per second
    /// it is still created, queued behind the calls before it (Twilio queues rather than rejects, twilio.md section 2.4);
    /// `queueTime` says for how long. A test-credentials call goes to `testCalls`, never queued: nobody is called. Its
    /// callee does what the destination's script says, else what it draws from the configured outcome mix, else answers.
    func create(accountSID: String, to: String, from: String, url: String, statusCallback: String?, options: CallOptions,
                configuration: FakeTwilio.Configuration, test: Bool) -> FakeCall
    {
        let now = now()
        var queueTime = 0
        if !test, let rate = callsPerSecondOverride ?? configuration.callsPerSecond, rate > 0 {
            let placed = max(now, nextPlacement[accountSID] ?? now)
            nextPlacement[accountSID] = placed.addingTimeInterval(1 / rate)
            queueTime = Int((placed.timeIntervalSince(now) * 1000).rounded(.down))
        }
        let dialIndex = dialCounts[to, default: 0]
        if !test { dialCounts[to] = dialIndex + 1 }
        let dice = FakeDice(seed: configuration.seed, to: to, dialIndex: dialIndex)
        let callee = outcomes[to] ?? configuration.outcomeMix?.outcome(dice) ?? FakeCallOutcome()
        let timeline = FakeCall.timeline(createdAt: now, queueTime: queueTime, callee: callee, options: options, timings: configuration.timings,
                                         timeScale: configuration.timeScale, dice: dice)
        let call = FakeCall(sid: "CA" + TwilioBodies.hex(32), accountSID: accountSID, to: to, from: from, url: url, statusCallback: statusCallback,
                            statusCallbackMethod: options.statusCallbackMethod, statusCallbackEvents: options.statusCallbackEvents,
                            timeout: options.timeout, timeLimit: options.timeLimit, machineDetection: options.machineDetection,
                            asyncAmd: options.asyncAmd, asyncAmdStatusCallback: options.asyncAmdStatusCallback,
                            asyncAmdStatusCallbackMethod: options.asyncAmdStatusCallbackMethod, dialIndex: dialIndex,
                            callbackScript: callbackScripts[to], createdAt: now, queueTime: queueTime, startTime: timeline.start,
                            answerTime: timeline.answer, endTime: timeline.end, outcome: timeline.outcome, amdTime: timeline.amdTime,
                            machineDetectionDuration: timeline.machineDetectionDuration)
        if test { testCalls.append(call) } else { calls.append(call) }
        return call
    }

    /// One call of `account` by SID, and the fake's clock now.
    func call(sid: String, account: String) -> (call: FakeCall, now: Date)? {
        guard let call = calls.last(where: { $0.sid == sid }), call.accountSID == account else { return nil }
        return (call, now())
    }

    func record(_ callback: FakeCallback) {
        callbacks.append(callback)
    }

    func countAccountRead() { accountReads += 1 }
}
