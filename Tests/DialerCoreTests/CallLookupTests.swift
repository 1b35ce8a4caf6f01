import Testing

@testable import DialerCore

@Suite("Which of Twilio's calls settles an in-doubt job")
struct CallLookupTests {
    @Test("the oldest call of the window that no other job recorded is the job's")
    func oldestFree() {
        #expect(CallLookup.choose(newestFirst: ["CA3", "CA2", "CA1"], recordedOnOtherJobs: []) == .found(callSID: "CA1"))
        #expect(CallLookup.choose(newestFirst: ["CA3", "CA2", "CA1"], recordedOnOtherJobs: ["CA1"]) == .found(callSID: "CA2"))
        #expect(CallLookup.choose(newestFirst: ["CA3", "CA2", "CA1"], recordedOnOtherJobs: ["CA1", "CA2"]) == .found(callSID: "CA3"))
    }

    @Test("no call, or only other jobs' calls, is not found")
    func nothingFree() {
        #expect(CallLookup.choose(newestFirst: [], recordedOnOtherJobs: []) == .notFound)
        #expect(CallLookup.choose(newestFirst: ["CA2", "CA1"], recordedOnOtherJobs: ["CA1", "CA2"]) == .notFound)
    }
}
