import DialerCore
import PostgresNIO
import Testing

/// The kit's job factory keeps the table's invariants, so a test that starts from a state starts from one the product
/// could have left.
@Suite("Test kit: the job factory")
struct JobFactoryTests {
    @Test("the factory puts a job into any state the table's checks accept, with what that state needs", arguments: JobState.allCases)
    func everyState(_ state: JobState) async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let id = try await store.enqueue([try Fixture.request(Fixture.destinations(1)[0])])[0].jobID
            try await Fixture.job(store, id, state: state, runIn: .seconds(60), createdAgo: .seconds(3_600), finishedAgo: .seconds(86_400))
            let job = try #require(try await store.job(id))
            #expect(job.state == state)
            #expect(job.callSID != nil || ![.awaitingOutcome, .completed, .dialed].contains(state))
            #expect(job.attempt >= 1 || ![.retrying, .active, .inDoubt, .awaitingOutcome, .completed, .dialed].contains(state))
            #expect(job.runInSeconds > 0)
            let finished = try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE finished_at < now() - interval '23 hours'")
            #expect(finished == (state.isFinal ? 1 : 0))
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE created_at < now() - interval '59 minutes'") == 1)
        }
    }

    @Test("a job the test schema does not hold is an error, not a silent no-op")
    func unknownJob() async throws {
        _ = try await TestDatabase.withStore { store, _ in
            await #expect(throws: Fixture.UnknownJob.self) { try await Fixture.job(store, 999_999, state: .failed) }
        }
    }
}
