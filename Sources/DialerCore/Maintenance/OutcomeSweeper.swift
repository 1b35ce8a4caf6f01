import Foundation
import Logging
import ServiceLifecycle

/// Resolves the calls whose final status callback never came (Twilio retries a callback only within 15 s, so a
/// receiver that was down loses it for good): a job waiting for an outcome past its deadline (ring time + time limit
/// + grace) is looked up with `GET .../Calls/{Sid}.json` and settled from that. A final status stored after all (it
/// came late, or `dialer serve` stopped between storing and settling) is applied without asking Twilio. A call still
/// going, or Twilio unreachable: asked again after `sweepRecheck`.
///
/// Runs in every worker process; each pass moves its jobs' deadlines ahead before asking (SKIP LOCKED), so two
/// sweepers never ask about the same call at once.
public struct OutcomeSweeper: Service, CustomStringConvertible {
    let store: JobStore
    let twilio: TwilioClient
    let settler: OutcomeSettler
    let configuration: WorkerConfiguration
    let metrics: DialerMetrics
    let logger: Logger
    static let batchSize = 32
    /// The `SequenceNumber` a looked-up final status is stored under: after any event Twilio numbers (and a second
    /// lookup of the same call is a duplicate).
    static let lookupSequenceNumber = 1_000_000

    public var description: String { "OutcomeSweeper(every: \(configuration.sweepInterval), batch: \(Self.batchSize))" }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                if try await runOnce() == Self.batchSize { continue }
            } catch {
                if Task.isCancelled { break }
                logger.warning("outcome sweep failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            do { try await sleep(for: configuration.sweepInterval) } catch { break }
        }
    }

    /// One pass: takes up to ``batchSize`` overdue calls, looks up those with no stored final status (concurrently),
    /// stores what Twilio says as a `lookup` event, and settles every job whose call has ended.
    /// - Returns: how many overdue calls it took.
    @discardableResult
    public func runOnce() async throws -> Int {
        let (store, configuration) = (self.store, self.configuration)
        let overdue = try await withTimeout(.seconds(20), what: "overdue outcome claim") {
            try await store.claimOverdueOutcomes(limit: Self.batchSize, recheckIn: configuration.sweepRecheck)
        }
        guard !overdue.isEmpty else { return 0 }
        let looked = await withTaskGroup(of: StatusCallback?.self) { group in
            for call in overdue where !call.finalStatusStored {
                group.addTask { await self.lookUp(call) }
            }
            return await group.reduce(into: [StatusCallback]()) { if let found = $1 { $0.append(found) } }
        }
        for call in overdue where call.finalStatusStored { metrics.outcomeLookup(result: "stored") }
        // The lookups' write returns the facts of the jobs they settle; calls whose final status was stored already are read.
        var settled = looked.isEmpty ? [] : try await store.record(looked, source: "lookup").settled
        settled += try await store.settledCalls(overdue.filter(\.finalStatusStored).map(\.jobID))
        try await settler.settle(settled)
        return overdue.count
    }

    /// Twilio's final status of one call, as a callback to store; `nil` when it has none yet or could not be asked.
    private func lookUp(_ call: OverdueCall) async -> StatusCallback? {
        guard let subaccount = call.subaccountSID else {
            metrics.outcomeLookup(result: "unreachable")
            return nil
        }
        switch await twilio.fetchCall(subaccountSID: subaccount, callSID: call.callSID, logger: logger) {
        case .call(let status, let answeredBy, let duration) where status.isFinal:
            metrics.outcomeLookup(result: "final")
            logger.notice("no final callback came; the call's status was looked up", metadata: [
                "job.id": "\(call.jobID)", "call.sid": "\(call.callSID)", "call_status": "\(status.rawValue)",
            ])
            return StatusCallback(callSID: call.callSID, sequenceNumber: Self.lookupSequenceNumber, status: status, answeredBy: answeredBy,
                                  callDuration: duration, jobID: call.jobID)
        case .call:
            metrics.outcomeLookup(result: "in_progress")
            return nil
        case .notFound:
            metrics.outcomeLookup(result: "unreachable")
            logger.error("Twilio has no record of a call it created; asked again later", metadata: [
                "job.id": "\(call.jobID)", "call.sid": "\(call.callSID)",
            ])
            return nil
        case .unreachable(let reason):
            metrics.outcomeLookup(result: "unreachable")
            logger.warning("looking up a call failed; asked again later", metadata: ["job.id": "\(call.jobID)", "reason": "\(reason)"])
            return nil
        }
    }
}
