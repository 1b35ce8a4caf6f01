import Foundation
import Logging

extension DialWorker {
    /// Asks Twilio about in-doubt jobs until stopped: found, the job is dialed with that call SID; not found, it is
    /// retried with backoff (or fails when its attempts are spent); Twilio unreachable, it stays in doubt and is asked
    /// again later. No in-doubt job is ever re-dialed before this answers.
    func reconcileLoop(recorder: OutcomeRecorder, leases: LeaseRegistry) async {
        while !Task.isCancelled {
            do {
                let (store, configuration) = (self.store, self.configuration)
                let calls = try await withTimeout(.seconds(20), what: "in-doubt claim") {
                    try await store.claimInDoubt(limit: 32, worker: configuration.workerID, lease: configuration.lease)
                }
                for call in calls { leases.insert(call.jobID) }
                await withTaskGroup(of: Void.self) { group in
                    for call in calls {
                        group.addTask {
                            let outcome = await self.reconcile(call)
                            let applied = await recorder.record(outcome)
                            leases.remove(call.jobID)
                            self.metrics.reconciled(result: outcome.outcome)
                            self.measure(outcome, applied: applied, path: "reconcile")
                            self.stats.update { counts in
                                guard applied else { return }
                                counts.reconciled += 1
                                switch outcome.state {
                                case .dialed: counts.dialed += 1
                                case .failed:
                                    counts.failed += 1
                                    counts.failedByCode[outcome.error?.error.rawValue ?? "unknown", default: 0] += 1
                                case .retrying: counts.retried += 1
                                default: break
                                }
                            }
                            self.logger.notice("reconciled", metadata: [
                                "job.id": "\(call.jobID)", "tenant": "\(call.tenantID)", "attempt": "\(call.attempt)", "outcome": "\(outcome.outcome)",
                                "state": "\(outcome.state.rawValue)", "to": "\(PhoneNumber.mask(call.destination))",
                            ])
                        }
                    }
                }
                if calls.count == 32 { continue }
            } catch {
                if Task.isCancelled { return }
                logger.warning("reconciliation failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            let interval = configuration.reconcileInterval.seconds * Double.random(in: 0.8...1.2)
            do { try await Task.sleep(for: .seconds(interval)) } catch { return }
        }
    }

    func reconcile(_ call: InDoubtCall) async -> JobOutcome {
        guard let subaccount = call.subaccountSID else {
            return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .inDoubt, delay: configuration.reconcileDelay, kind: .reconcile,
                              outcome: "unreachable", possiblyDialed: true, detail: .object(["reason": "no subaccount configured"]))
        }
        let lookup = await lookUpCall(call, subaccount: subaccount)
        switch lookup {
        case .found(let sid):
            return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .dialed, callSID: sid, kind: .reconcile, outcome: "found")
        case .unreachable(let reason):
            return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .inDoubt, delay: configuration.reconcileDelay, kind: .reconcile,
                              outcome: "unreachable", possiblyDialed: true, detail: .object(["reason": .string(reason)]))
        case .notFound:
            let error = call.lastError ?? OpenPhnError(.upstreamUnavailable, "Twilio's answer to the call request was lost.")
            let failure = DialFailure(kind: .serverError, error: error, possiblyDialed: false)
            var random = SystemRandomNumberGenerator()
            switch configuration.retryPolicy.decide(failure, attempt: call.attempt, maxAttempts: call.maxAttempts, using: &random) {
            case .retry(let delay):
                return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .retrying, delay: delay, kind: .reconcile, outcome: "not_found",
                                  detail: .object(["retry_in_seconds": .number((delay.seconds * 1000).rounded() / 1000)]))
            case .fail(let error):
                return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .failed, error: error, kind: .reconcile, outcome: "not_found")
            }
        }
    }

    /// Extends the leases of every job in this worker's hands, a third of a lease apart; except jobs held longer than
    /// ``WorkerConfiguration/maxHold``, which are let go (see ``LeaseRegistry/partition(heldLongerThan:)``).
    func heartbeat(_ leases: LeaseRegistry) async {
        var reported = Set<Int64>()
        while !Task.isCancelled {
            do { try await Task.sleep(for: configuration.lease / 3) } catch { return }
            let (ids, stuck) = leases.partition(heldLongerThan: configuration.maxHold)
            for id in stuck where !reported.contains(id) {
                logger.error("job held too long; its lease is left to expire so another worker recovers it", metadata: [
                    "job.id": "\(id)", "held_longer_than": "\(configuration.maxHold)",
                ])
            }
            reported = Set(stuck)
            guard !ids.isEmpty else { continue }
            do {
                let (store, configuration) = (self.store, self.configuration)
                let extended = try await withTimeout(configuration.lease / 3, what: "heartbeat") {
                    try await store.extendLeases(ids, worker: configuration.workerID, lease: configuration.lease)
                }
                if extended < ids.count {
                    logger.debug("heartbeat: some leases were already settled", metadata: ["held": "\(ids.count)", "extended": "\(extended)"])
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("heartbeat failed; leases may expire", metadata: ["held": "\(ids.count)", "error": "\(String(reflecting: error))"])
            }
        }
    }
}
