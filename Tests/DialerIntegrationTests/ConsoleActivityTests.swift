import DialerCore
import Foundation
import PostgresNIO
import Testing

@testable import DialerOps

/// What the console shows beyond the job counts, after a real drain through the fake Twilio: dials per minute, do-not-call
/// hits at dial time, the next retry due, the chart, failures by code, the Subaccounts and Workers pages.
@Suite("Operator console: activity")
struct ConsoleActivityTests {
    /// The text of the first element whose `data-field` is `name`.
    static func field(_ name: String, in body: String) -> String? {
        guard let start = body.range(of: #"data-field="\#(name)">"#) else { return nil }
        return String(body[start.upperBound...].prefix { $0 != "<" })
    }

    @Test("after a drain: dials per minute, a do-not-call hit, the next retry, the chart, failures by code, subaccounts and workers")
    func activityPages() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { twilioURL in
            try await ConsoleTests.withConsole { store, base in
                let blocked = Fixture.destinations(4)[0]
                _ = try await store.addDNC(try PhoneNumber(validating: blocked), to: .global)
                let counts = try await Fixture.drain(store, twilio: Fixture.twilio(twilioURL), wait: nil)
                #expect(counts.dialed == 3 && counts.failed == 1)
                let blockedJob = try await store.scalar("SELECT id FROM call_jobs WHERE destination = \(blocked)")
                let later = try await store.enqueue([try CallOutcomeTests.request("+14155557701", campaign: "spring")])[0].jobID
                _ = try await store.scalar("""
                    WITH u AS (UPDATE call_jobs SET state = 'retrying', run_at = now() + interval '1 hour' WHERE id = \(later) RETURNING 1)
                    SELECT count(*)::bigint FROM u
                    """)
                try await ConsoleTests.account(store, "alice", .operator)
                try await ConsoleTests.account(store, "tina", .viewer, tenant: "acme")
                let alice = ConsoleTests.Browser(base: base)
                try await alice.signIn("alice", ConsoleTests.password)

                let campaigns = try await alice.get("/console").body
                #expect(Self.field("dnc_hits", in: campaigns) == "1")
                #expect(Self.field("dials_per_minute", in: campaigns).flatMap(Double.init) ?? 0 > 0, "3 dials within the last minutes")
                #expect(Self.field("next_retry", in: campaigns)?.contains("UTC, in ") == true, "the retry due in an hour")
                #expect(Self.field("next_held", in: campaigns) == "–")

                let campaign = try await alice.get("/console/campaigns/acme/spring").body
                #expect(campaign.contains("<svg") && campaign.contains("<polyline"), "the chart of dials")
                #expect(campaign.contains(#"<tr data-code="dnc_blocked">"#) && campaign.contains(#"<a href="/console/calls/\#(blockedJob)">"#))
                #expect(Self.field("dnc_hits", in: campaign) == "1")

                let subaccounts = try await alice.get("/console/subaccounts").body
                #expect(subaccounts.contains(#"data-tenant="acme""#) && subaccounts.contains(#"data-tenant="globex""#))
                #expect(subaccounts.contains(Fixture.subaccount))

                let processes = try await store.processes()
                let worker = try #require(processes.first { $0.heartbeat.role == .worker })
                #expect(worker.heartbeat.dialed == 3 && worker.heartbeat.failed == 1 && worker.status == "stopped", "the last write is the clean stop")
                let workers = try await alice.get("/console/workers").body
                #expect(workers.contains(#"data-process="\#(worker.heartbeat.id)""#) && Self.field("state", in: workers) == "stopped")
                #expect(campaigns.contains(#"href="/console/workers""#))

                // One tenant's viewer: its own subaccount only, and no fleet page.
                let tina = ConsoleTests.Browser(base: base)
                try await tina.signIn("tina", ConsoleTests.password)
                let own = try await tina.get("/console/subaccounts").body
                #expect(own.contains(#"data-tenant="acme""#) && !own.contains(#"data-tenant="globex""#))
                let fleet = try await tina.get("/console/workers")
                #expect(fleet.status == 403 && fleet.errorCode == "role_required" && !fleet.body.contains(#"href="/console/workers""#))
            }
        }
    }

    @Test("a process killed without a clean stop is gone once 30 seconds pass; the activity adds up across writes and processes")
    func heartbeatsAndSums() async throws {
        try await TestDatabase.withStore { store, _ in
            let tally = ActivityTally()
            let at = Date()
            tally.count(.dial, tenant: "acme", campaign: "spring", at: at)
            tally.count(.dial, tenant: "acme", campaign: "spring", at: at)
            for id in 1...7 as ClosedRange<Int64> {
                tally.countFailure(OpenPhnError(.carrierRejected, "Twilio refused the number."), twilioCode: 21_215, jobID: id, tenant: "acme", campaign: "spring", at: at)
            }
            var beat = ProcessHeartbeat(id: "w1", role: .worker)
            try await store.recordActivity(tally.drain(), heartbeat: beat)
            tally.count(.dial, tenant: "acme", campaign: "spring", at: at)
            tally.countFailure(OpenPhnError(.carrierRejected, "Twilio refused the number."), twilioCode: 21_215, jobID: 8, tenant: "acme", campaign: "spring", at: at)
            beat.dialed = 3
            try await store.recordActivity(tally.drain(), heartbeat: ProcessHeartbeat(id: "w2", role: .worker))
            try await store.recordActivity(ActivityTally().drain(), heartbeat: beat)
            #expect(tally.drain().isEmpty)

            let key = CampaignKey(tenantID: "acme", campaignID: "spring")
            let activity = try #require(try await store.campaignActivity([key])[key])
            #expect(activity.recentDials == 3 && activity.total("dial") == 3 && activity.dialsPerMinute > 0)
            let failures = try await store.campaignFailures(key)
            #expect(failures.count == 1 && failures[0].code == "carrier_rejected:21215" && failures[0].jobs == 8)
            #expect(failures[0].examples == [8, 7, 6, 5, 4], "the latest five, newest first")
            let timeline = try await store.campaignTimeline(key)
            #expect(timeline.filter { $0.event == "dial" }.reduce(0) { $0 + $1.n } == 3)

            _ = try await store.scalar("WITH u AS (UPDATE dialer_processes SET last_seen = now() - interval '31 seconds' WHERE id = 'w2' RETURNING 1) SELECT count(*)::bigint FROM u")
            let rows = try await store.processes()
            #expect(rows.first { $0.heartbeat.id == "w2" }?.status == "gone")
            #expect(rows.first { $0.heartbeat.id == "w1" }?.status == "running" && rows.first { $0.heartbeat.id == "w1" }?.heartbeat.dialed == 3)
            let html = ConsoleRoute.workersHTML(rows, now: Date())
            #expect(html.contains("1 worker alive"))
        }
    }
}
