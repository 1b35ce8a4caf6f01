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

    @Test("controls by filter: cancel only some waiting states, retry only one failure code, pause a whole tenant; each previewed, confirmed and audited")
    func filteredControls() async throws {
        try await ConsoleTests.withConsole { store, base in
            let ids = try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE campaign_id = 'spring'")
            #expect(ids == 4)
            _ = try await store.scalar("""
                WITH u AS (UPDATE call_jobs SET state = CASE WHEN id % 2 = 0 THEN 'retrying' ELSE 'deferred' END, run_at = now() + interval '1 hour'
                           WHERE id IN (SELECT id FROM call_jobs WHERE campaign_id = 'spring' ORDER BY id LIMIT 2) RETURNING 1)
                SELECT count(*)::bigint FROM u
                """)
            let failed = try await store.enqueue([try CallOutcomeTests.request("+14155557702", campaign: "spring")])[0].jobID
            _ = try await store.scalar("""
                WITH u AS (UPDATE call_jobs SET state = 'failed', finished_at = now(), last_error = '{"error": "carrier_rejected", "message": "x", "details": {}}'
                           WHERE id = \(failed) RETURNING 1) SELECT count(*)::bigint FROM u
                """)
            try await ConsoleTests.account(store, "alice", .operator)
            let alice = ConsoleTests.Browser(base: base)
            try await alice.signIn("alice", ConsoleTests.password)
            let page = try await alice.get("/console/campaigns/acme/spring")
            let csrf = try #require(page.csrf)
            #expect(page.body.contains(#"name="only_retrying""#) && page.body.contains(#"<select id="retry-code" name="code">"#))

            let preview = try await alice.post("/console/campaigns/acme/spring/cancel", [("csrf", csrf), ("only_retrying", "yes")])
            #expect(preview.body.contains("This will cancel 1 waiting jobs in state retrying.") && preview.body.contains("3 waiting in other states stay"))
            #expect(preview.body.contains(#"<input type="hidden" name="only_retrying" value="yes">"#), "the confirmation carries the filter")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'cancelled'") == 0, "a preview changes nothing")
            let cancelled = try await alice.post("/console/campaigns/acme/spring/cancel", [("csrf", csrf), ("confirm", "yes"), ("only_retrying", "yes")])
            #expect(cancelled.location?.hasSuffix("done=cancel-1") == true)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'cancelled'") == 1)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'deferred'") == 1, "the other state is left alone")
            #expect(try await store.scalar("""
                SELECT count(*)::bigint FROM audit_log WHERE action = 'cancel' AND actor = 'console:alice' AND affected = 1 AND scope->'states' = '["retrying"]'
                """) == 1)

            let none = try await alice.post("/console/campaigns/acme/spring/retry", [("csrf", csrf), ("code", "dnc_blocked")])
            #expect(none.body.contains("This will put 0 failed jobs with code dnc_blocked back"))
            let one = try await alice.post("/console/campaigns/acme/spring/retry", [("csrf", csrf), ("code", "carrier_rejected:21215")])
            #expect(one.body.contains("This will put 1 failed jobs with code carrier_rejected back"))
            let bad = try await alice.post("/console/campaigns/acme/spring/retry", [("csrf", csrf), ("code", "no_such_code")])
            #expect(bad.status == 400 && bad.errorCode == "invalid_request")
            _ = try await alice.post("/console/campaigns/acme/spring/retry", [("csrf", csrf), ("confirm", "yes"), ("code", "carrier_rejected")])
            #expect(try await store.job(failed)?.state == .queued)

            let tenantPreview = try await alice.post("/console/tenants/acme/pause", [("csrf", csrf)])
            #expect(tenantPreview.body.contains("This will pause tenant acme, every campaign of it"))
            #expect(try await store.pauses().isEmpty)
            let paused = try await alice.post("/console/tenants/acme/pause", [("csrf", csrf), ("confirm", "yes"), ("reason", "carrier incident")])
            #expect(paused.location?.hasPrefix("/console/subaccounts?done=pause-") == true)
            #expect(try await store.pauses().map { $0.campaignID ?? "" } == [""], "the whole tenant is paused")
            let subaccounts = try await alice.get("/console/subaccounts").body
            #expect(subaccounts.contains("tenant paused") && subaccounts.contains("Resume tenant…"))
            #expect(try await alice.post("/console/tenants/nobody/pause", [("csrf", csrf)]).status == 404)
            await #expect(throws: OpenPhnError.self) { _ = try await store.cancel(.scope(tenant: "acme", campaign: nil), states: [.completed], by: "test") }
        }
    }
}
