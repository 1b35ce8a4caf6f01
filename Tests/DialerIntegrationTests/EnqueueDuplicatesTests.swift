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
                try await store.enqueue([try Fixture.request("+14155551236", key: "j"),
                                         try Fixture.request("+14155551236", key: "j", objective: "Other")])
            }
            // A repeat with a key of its own is still the same person: one job.
            let keyed = try await store.enqueue([try Fixture.request("+14155551237", key: "a"), try Fixture.request("+14155551237", key: "b")])
            #expect(keyed.map(\.duplicateOf) == [nil, 0])
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE destination = '+14155551237'") == 1)
        }
    }

    @Test("a campaign CSV naming a number twice enqueues it once, with or without --campaign, and names the lines")
    func csvDuplicates() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let csv = FileManager.default.temporaryDirectory.appendingPathComponent("dups-\(schema).csv")
            try "to,objective\n+14155551234,First\n+14155551235,\n+14155551234,Second\n+14155551234,\n"
                .write(to: csv, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: csv) }
            let plain = try await TestProcess.run(["enqueue", "--tenant", "acme", "--objective", "Remind", "--csv", csv.path] + TestProcess.consentFlags,
                                                  environment: env)
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 2)
            #expect(plain.stdout.contains("2 duplicate row(s)"), "\(plain.stdout)")
            #expect(plain.stdout.contains("line 4 repeats line 2"), "\(plain.stdout)")
            #expect(plain.stdout.contains("line 5 repeats line 2"), "\(plain.stdout)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE objective = 'First'") == 1)

            // With a campaign the rows get derived keys: a repeat with another objective is still a repeat, not a 409.
            let campaign = try await TestProcess.run(["enqueue", "--tenant", "acme", "--campaign", "spring", "--objective", "Remind", "--csv", csv.path,
                                                   "--json"] + TestProcess.consentFlags, environment: env)
            #expect(campaign.status == 0, "\(campaign.stdout) \(campaign.stderr)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE campaign_id = 'spring'") == 2)
            let json = try #require(JSONValue.parse(campaign.stdout))
            #expect(json["created"] == 2)
            #expect(json["duplicates"] == 2)
            #expect(json["duplicate_rows"]?[0]?["line"] == 4)
            #expect(json["duplicate_rows"]?[0]?["repeats_line"] == 2)
            // Importing it again creates nothing.
            let again = try await TestProcess.run(["enqueue", "--tenant", "acme", "--campaign", "spring", "--objective", "Remind", "--csv", csv.path]
                                                  + TestProcess.consentFlags, environment: env)
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE campaign_id = 'spring'") == 2)
        }
    }
}
