import Foundation

/// The fake's state: the ledger of created calls (ground truth for how often each destination was dialed), the status
/// callbacks sent for them, the scripted answers still to give, and each account's calls-per-second queue.
public actor FakeTwilioLedger {
    public private(set) var calls: [FakeCall] = []
    /// Every status callback sent, failed or skipped, in the order they were attempted.
    public private(set) var callbacks: [FakeCallback] = []
    /// Every Create Call request received, accepted or not.
    public private(set) var requests = 0
    private var scripts: [String: [FakeResponse]] = [:]
    /// Answers for any destination without a script of its own, used in order (then normal behaviour).
    private var globalScript: [FakeResponse] = []
    private var outcomes: [String: FakeCallOutcome] = [:]
    /// Set at run time (`POST /_fake/config`), it wins over the configured rate; 0 means unlimited.
    private var callsPerSecondOverride: Double?
    /// Per account: when its queue next has room to place a call.
    private var nextPlacement: [String: ContinuousClock.Instant] = [:]

    public init() {}

    /// Queues answers for calls to `to`; each request to it takes the next one.
    public func script(to: String, _ responses: [FakeResponse]) {
        scripts[to, default: []] += responses
    }

    /// Queues answers for the next requests to any destination without its own script.
    public func scriptAll(_ responses: [FakeResponse]) {
        globalScript += responses
    }

    /// How every call to `to` ends from now on (its status callbacks); calls to other destinations complete.
    public func scriptOutcome(to: String, _ outcome: FakeCallOutcome) {
        outcomes[to] = outcome
    }

    /// Applies a script entry.
    public func apply(_ script: FakeScript) {
        if let to = script.to {
            self.script(to: to, script.responses)
            if let outcome = script.outcome { outcomes[to] = outcome }
        } else {
            scriptAll(script.responses)
        }
    }

    /// Overrides the configured calls per second of every account: `nil` restores it, 0 or less makes it unlimited.
    public func setCallsPerSecond(_ callsPerSecond: Double?) {
        callsPerSecondOverride = callsPerSecond
        nextPlacement.removeAll()
    }

    public func reset() {
        calls.removeAll()
        callbacks.removeAll()
        requests = 0
        scripts.removeAll()
        globalScript.removeAll()
        outcomes.removeAll()
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

    func outcome(for to: String) -> FakeCallOutcome { outcomes[to] ?? FakeCallOutcome() }

    /// Creates a call. Above the account's calls per second it is still created, queued behind the calls before it
    /// (Twilio queues rather than rejects, twilio.md section 2.4); `queueTime` says for how long.
    /// - Parameter callsPerSecond: the configured rate; `nil` or 0 or less is unlimited.
    func create(accountSID: String, to: String, from: String, url: String, statusCallback: String?, statusCallbackMethod: String,
                statusCallbackEvents: [String], callsPerSecond: Double?) -> FakeCall
    {
        var queueTime = 0
        if let rate = callsPerSecondOverride ?? callsPerSecond, rate > 0 {
            let now = ContinuousClock.now
            let placed = max(now, nextPlacement[accountSID] ?? now)
            nextPlacement[accountSID] = placed + .seconds(1 / rate)
            queueTime = Int((placed - now) / .milliseconds(1))
        }
        let call = FakeCall(sid: "CA" + TwilioBodies.hex(32), accountSID: accountSID, to: to, from: from, url: url, statusCallback: statusCallback,
                            statusCallbackMethod: statusCallbackMethod, statusCallbackEvents: statusCallbackEvents, createdAt: Date(),
                            queueTime: queueTime)
        calls.append(call)
        return call
    }

    func record(_ callback: FakeCallback) {
        callbacks.append(callback)
    }
}
