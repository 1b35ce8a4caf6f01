import Foundation
import Logging

extension ReconcileService {
    /// Whether Twilio has a call of this in-doubt job: every call from its caller to its destination since the job was
    /// created (any attempt's call settles it), less those another job already recorded; the oldest left is this job's.
    /// A database that does not answer is `.unreachable` like Twilio: the job stays in doubt and is asked again.
    func lookUpCall(_ call: InDoubtCall, subaccount: String) async -> CallLookup {
        let sids: [String]
        switch await twilio.listCalls(subaccountSID: subaccount, to: call.destination, from: call.callerE164, createdSince: call.jobCreatedAt,
                                      logger: logger)
        {
        case .calls(let listed): sids = listed
        case .unreachable(let reason): return .unreachable(reason)
        }
        do {
            let store = self.store
            let taken = try await withTimeout(.seconds(20), what: "call SIDs of other jobs") {
                try await store.callSIDsOfOtherJobs(sids, jobID: call.jobID, subaccount: subaccount, destination: call.destination)
            }
            return CallLookup.choose(newestFirst: sids, recordedOnOtherJobs: taken)
        } catch {
            return .unreachable("database: \(String(reflecting: error))")
        }
    }
}
