import Foundation

/// What each call outcome makes of a job, for one campaign: retry or not, after what delay, at most how many times; the
/// caps per lead (a job: one person in one campaign) over its life and per rolling 24 hours; and what Create Call
/// asks of Twilio (ring time, call length, machine detection).
///
/// The defaults follow what real dialers ship (after-the-dial.md 2.5): busy after 30 minutes, no answer after 2 hours
/// then 4, a machine not retried, other failures after 1 hour, SIP 404/410/484 terminal (`invalid_phone`), 603 terminal
/// (declined); at most 3 dials per lead and 3 per 24 hours. Stored as ``Overrides`` per campaign and per tenant
/// (`campaign_policies`); the effective policy is the campaign's value, else the tenant's, else the default.
public struct CampaignPolicy: Sendable, Hashable {
    /// How one outcome is retried.
    public struct Retry: Sendable, Hashable {
        /// The wait before the 1st, 2nd... retry of this outcome; the last repeats. Empty: never retried.
        public var delays: [Duration]
        /// At most this many retries of this outcome; `nil`: only the caps bound them.
        public var maxRetries: Int?

        public init(delays: [Duration], maxRetries: Int? = nil) {
            self.delays = delays
            self.maxRetries = maxRetries
        }

        public static let never = Retry(delays: [])

        /// The wait before the retry that follows `previous` earlier results of this outcome.
        public func delay(after previous: Int) -> Duration? {
            guard !delays.isEmpty else { return nil }
            return delays[min(previous, delays.count - 1)]
        }
    }

    /// Twilio's answering-machine detection on Create Call (`MachineDetection`, always with `AsyncAmd=true` so the AI
    /// agent speaks at once: 64.1200(a)(7)'s two seconds).
    public enum MachineDetection: String, Sendable, Hashable, CaseIterable {
        case off
        case enable = "Enable"
        case detectMessageEnd = "DetectMessageEnd"
    }

    public var busy: Retry
    public var noAnswer: Retry
    public var machine: Retry
    /// Failures other than a bad number or a declined call (SIP 480, 503, 408...).
    public var failed: Retry
    /// Dials per lead over its life: every Create Call that got a call SID, and every one that may have reached Twilio.
    public var maxDials: Int
    /// Dials per lead in any 24 hours.
    public var maxDialsPer24h: Int
    /// Create Call's `Timeout`: ring time before `no-answer`. At least 15 s (47 CFR 64.1200(a)(6)), at most 600.
    public var ringTimeoutSeconds: Int
    /// Create Call's `TimeLimit`: the longest call.
    public var timeLimitSeconds: Int
    public var machineDetection: MachineDetection

    public init(busy: Retry, noAnswer: Retry, machine: Retry, failed: Retry, maxDials: Int, maxDialsPer24h: Int, ringTimeoutSeconds: Int,
                timeLimitSeconds: Int, machineDetection: MachineDetection)
    {
        self.busy = busy
        self.noAnswer = noAnswer
        self.machine = machine
        self.failed = failed
        self.maxDials = maxDials
        self.maxDialsPer24h = maxDialsPer24h
        self.ringTimeoutSeconds = ringTimeoutSeconds
        self.timeLimitSeconds = timeLimitSeconds
        self.machineDetection = machineDetection
    }

    /// The documented defaults (README, "Campaign policy").
    public static let defaults = CampaignPolicy(
        busy: Retry(delays: [.seconds(30 * 60)]), noAnswer: Retry(delays: [.seconds(2 * 3600), .seconds(4 * 3600)]), machine: .never,
        failed: Retry(delays: [.seconds(3600)]), maxDials: 3, maxDialsPer24h: 3, ringTimeoutSeconds: 30, timeLimitSeconds: 900,
        machineDetection: .off)

    /// The rule of a retryable result; `nil` for results that are never retried (contacts, bad numbers, declines, cancels).
    public func retry(for result: CallResult) -> Retry? {
        switch result {
        case .busy: busy
        case .noAnswer: noAnswer
        case .machine: machine
        case .failed(let sip):
            if let sip, CallResult.invalidNumberSIPCodes.contains(sip) || sip == CallResult.declinedSIPCode { nil } else { failed }
        case .human, .unknown, .completed, .canceled: nil
        }
    }

    /// How long after the 201 the sweeper looks a call up when no final callback came: the ring time, Twilio's
    /// possible 5-second buffer, the longest call, and `grace`.
    public func outcomeDeadline(grace: Duration) -> Duration {
        .seconds(ringTimeoutSeconds + 5 + timeLimitSeconds) + grace
    }
}

extension CampaignPolicy {
    /// The fields one `campaign_policies` row sets; `nil` fields fall through to the tenant's row, then the default.
    /// JSON keys are the ones `dialer campaign set` and `show --json` use.
    public struct Overrides: Sendable, Hashable, Codable {
        public var busyDelaysSeconds: [Int]?
        public var busyMaxRetries: Int?
        public var noAnswerDelaysSeconds: [Int]?
        public var noAnswerMaxRetries: Int?
        public var machineDelaysSeconds: [Int]?
        public var machineMaxRetries: Int?
        public var failedDelaysSeconds: [Int]?
        public var failedMaxRetries: Int?
        public var maxDials: Int?
        public var maxDialsPer24h: Int?
        public var ringTimeoutSeconds: Int?
        public var timeLimitSeconds: Int?
        public var machineDetection: String?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case busyDelaysSeconds = "busy_delays_seconds", busyMaxRetries = "busy_max_retries"
            case noAnswerDelaysSeconds = "no_answer_delays_seconds", noAnswerMaxRetries = "no_answer_max_retries"
            case machineDelaysSeconds = "machine_delays_seconds", machineMaxRetries = "machine_max_retries"
            case failedDelaysSeconds = "failed_delays_seconds", failedMaxRetries = "failed_max_retries"
            case maxDials = "max_dials", maxDialsPer24h = "max_dials_per_24h"
            case ringTimeoutSeconds = "ring_timeout_seconds", timeLimitSeconds = "time_limit_seconds"
            case machineDetection = "machine_detection"
        }

        /// `other`'s fields where they are set, this one's elsewhere (a `campaign set` on top of the stored row).
        public func updated(with other: Overrides) -> Overrides {
            var merged = self
            merged.busyDelaysSeconds = other.busyDelaysSeconds ?? busyDelaysSeconds
            merged.busyMaxRetries = other.busyMaxRetries ?? busyMaxRetries
            merged.noAnswerDelaysSeconds = other.noAnswerDelaysSeconds ?? noAnswerDelaysSeconds
            merged.noAnswerMaxRetries = other.noAnswerMaxRetries ?? noAnswerMaxRetries
            merged.machineDelaysSeconds = other.machineDelaysSeconds ?? machineDelaysSeconds
            merged.machineMaxRetries = other.machineMaxRetries ?? machineMaxRetries
            merged.failedDelaysSeconds = other.failedDelaysSeconds ?? failedDelaysSeconds
            merged.failedMaxRetries = other.failedMaxRetries ?? failedMaxRetries
            merged.maxDials = other.maxDials ?? maxDials
            merged.maxDialsPer24h = other.maxDialsPer24h ?? maxDialsPer24h
            merged.ringTimeoutSeconds = other.ringTimeoutSeconds ?? ringTimeoutSeconds
            merged.timeLimitSeconds = other.timeLimitSeconds ?? timeLimitSeconds
            merged.machineDetection = other.machineDetection ?? machineDetection
            return merged
        }

        /// Checks every field set; the first bad one is `invalid_request` naming it.
        public func validate() throws(OpenPhnError) {
            func bad(_ field: String, _ message: String) -> OpenPhnError {
                OpenPhnError(.invalidRequest, message, details: ["field": .string(field)])
            }
            let delays: [(String, [Int]?)] = [("busy_delays_seconds", busyDelaysSeconds), ("no_answer_delays_seconds", noAnswerDelaysSeconds),
                                              ("machine_delays_seconds", machineDelaysSeconds), ("failed_delays_seconds", failedDelaysSeconds)]
            for (field, list) in delays {
                guard let list else { continue }
                if list.count > 10 { throw bad(field, "At most 10 retry delays per outcome.") }
                if let low = list.first(where: { $0 < CampaignPolicy.minimumRetryDelaySeconds || $0 > 30 * 86_400 }) {
                    throw bad(field, "A retry delay of \(low) s is outside \(CampaignPolicy.minimumRetryDelaySeconds) s ... 30 days.")
                }
            }
            let maxima: [(String, Int?)] = [("busy_max_retries", busyMaxRetries), ("no_answer_max_retries", noAnswerMaxRetries),
                                            ("machine_max_retries", machineMaxRetries), ("failed_max_retries", failedMaxRetries)]
            for (field, value) in maxima where value.map({ $0 < 0 || $0 > 100 }) ?? false {
                throw bad(field, "A retry maximum must be 0 ... 100.")
            }
            if let value = maxDials, !(1...100).contains(value) { throw bad("max_dials", "max_dials must be 1 ... 100.") }
            if let value = maxDialsPer24h, !(1...100).contains(value) { throw bad("max_dials_per_24h", "max_dials_per_24h must be 1 ... 100.") }
            if let value = ringTimeoutSeconds, !(15...600).contains(value) {
                throw bad("ring_timeout_seconds", "The ring time must be 15 ... 600 s: 47 CFR 64.1200(a)(6) forbids hanging up an unanswered call sooner than 15 s.")
            }
            if let value = timeLimitSeconds, !(30...14_400).contains(value) {
                throw bad("time_limit_seconds", "The time limit must be 30 ... 14400 s.")
            }
            if let value = machineDetection, MachineDetection(rawValue: value) == nil {
                throw bad("machine_detection", "machine_detection is off, Enable or DetectMessageEnd.")
            }
        }
    }

    /// Retry delays shorter than this are refused: a person is not called back within the minute (the floors real
    /// dialers use are 2 to 5 minutes; this one leaves room for operators' tests).
    public static let minimumRetryDelaySeconds = 60

    /// The effective policy: for each field, the campaign's value, else the tenant's, else the default.
    public static func resolve(campaign: Overrides?, tenant: Overrides?) -> CampaignPolicy {
        let c = campaign ?? Overrides(), t = tenant ?? Overrides(), d = defaults
        func retry(_ delays: [Int]?, _ maxRetries: Int?, _ fallback: Retry) -> Retry {
            Retry(delays: delays.map { $0.map { .seconds($0) } } ?? fallback.delays, maxRetries: maxRetries ?? fallback.maxRetries)
        }
        return CampaignPolicy(
            busy: retry(c.busyDelaysSeconds ?? t.busyDelaysSeconds, c.busyMaxRetries ?? t.busyMaxRetries, d.busy),
            noAnswer: retry(c.noAnswerDelaysSeconds ?? t.noAnswerDelaysSeconds, c.noAnswerMaxRetries ?? t.noAnswerMaxRetries, d.noAnswer),
            machine: retry(c.machineDelaysSeconds ?? t.machineDelaysSeconds, c.machineMaxRetries ?? t.machineMaxRetries, d.machine),
            failed: retry(c.failedDelaysSeconds ?? t.failedDelaysSeconds, c.failedMaxRetries ?? t.failedMaxRetries, d.failed),
            maxDials: c.maxDials ?? t.maxDials ?? d.maxDials,
            maxDialsPer24h: c.maxDialsPer24h ?? t.maxDialsPer24h ?? d.maxDialsPer24h,
            ringTimeoutSeconds: c.ringTimeoutSeconds ?? t.ringTimeoutSeconds ?? d.ringTimeoutSeconds,
            timeLimitSeconds: c.timeLimitSeconds ?? t.timeLimitSeconds ?? d.timeLimitSeconds,
            machineDetection: (c.machineDetection ?? t.machineDetection).flatMap(MachineDetection.init(rawValue:)) ?? d.machineDetection)
    }
}

extension CampaignPolicy {
    /// Every field of the effective policy, as the rows store them (what `dialer campaign show --json` prints).
    public var asOverrides: Overrides {
        func seconds(_ retry: Retry) -> [Int] { retry.delays.map { Int($0.components.seconds) } }
        var all = Overrides()
        all.busyDelaysSeconds = seconds(busy)
        all.busyMaxRetries = busy.maxRetries
        all.noAnswerDelaysSeconds = seconds(noAnswer)
        all.noAnswerMaxRetries = noAnswer.maxRetries
        all.machineDelaysSeconds = seconds(machine)
        all.machineMaxRetries = machine.maxRetries
        all.failedDelaysSeconds = seconds(failed)
        all.failedMaxRetries = failed.maxRetries
        all.maxDials = maxDials
        all.maxDialsPer24h = maxDialsPer24h
        all.ringTimeoutSeconds = ringTimeoutSeconds
        all.timeLimitSeconds = timeLimitSeconds
        all.machineDetection = machineDetection.rawValue
        return all
    }
}

extension CampaignPolicy.Overrides {
    /// The fields set, as JSON (keys as stored).
    public var json: [String: JSONValue] {
        guard let data = try? JSONEncoder().encode(self), case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return [:]
        }
        return fields.filter { $0.value != .null }
    }
}
