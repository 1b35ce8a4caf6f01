import DialerCore
import Foundation
import PostgresNIO
import Testing

/// One enqueue never rings a person twice: rows with the same tenant and destination collapse to the first.
@Suite("Enqueue: duplicates within one request")
struct EnqueueDuplicatesTests {
    @Test("the same number twice in one enqueue, without keys, is one job; the repeat points at the first row")
    func sameNumberTwice() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let results = try await store.enqueue([
                try Fixture.request("+14155551234"), try Fixture.request("+14155551235"), try Fixture.request("+14155551234", objective: "Other"),
                // Another tenant calling the same person is its own job.
                try Fixture.request("+14155551234", tenant: "globex"),
            ])
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 3)
            #expect(results.map(\.created) == [true, true, false, true])
            #expect(results[2].jobID == results[0].jobID)
            #expect(results.map(\.duplicateOf) == [nil, nil, 0, nil])
            #expect(results.duplicates == 1)
        }
    }

    @Test("keys keep their meaning: the same key and body is a duplicate, the same key with another body is still a 409")
    func keysStillRule() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let same = try await store.enqueue([try Fixture.request("+14155551234", key: "k"), try Fixture.request("+14155551234", key: "k")])
            #expect(same.map(\.duplicateOf) == [nil, 0])
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 1)
            await #expect(throws: OpenPhnError.self) {
                try await store.enqueue([try Fixture.request("+14155551236", key: "j"), try Fixture.request("+14155551236", key: "j", objective: "Other")])
            }
            // A repeat with a key of its own is still the same person: one job.
            let keyed = try await store.enqueue([try Fixture.request("+14155551237", key: "a"), try Fixture.request("+14155551237", key: "b")])
            #expect(keyed.map(\.duplicateOf) == [nil, 0])
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE destination = '+14155551237'") == 1)
        }
    }
}
