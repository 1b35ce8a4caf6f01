"""The dialer through PgBouncer in transaction pooling mode (run by ops/pgbouncer-test/run, which starts the pooler).

Every dialer process reaches PostgreSQL through the pooler alone, with prepared statements off; one worker LISTENs on a
direct connection (DIALER_LISTEN_DATABASE_URL), the other polls only (off). Checks: every job is dialed once and only
once per attempt the database records (the fake Twilio's own ledger against the attempt rows), every call's outcome is
applied from the callbacks `dialer serve` stored through the pooler, a pause from the CLI stops both workers, and the
pooler's own counters show the traffic went through it.
"""

import collections
import json
import os
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from harness import Harness, free_port, healthy  # noqa: E402

POOLED, DIRECT, ADMIN = os.environ["DIALER_PGBOUNCER_URL"], os.environ["DIALER_PGBOUNCER_DIRECT_URL"], os.environ["DIALER_PGBOUNCER_ADMIN"]
SUBACCOUNT, CALLER = "AC0123456789abcdef0123456789abcdef", "+14155550100"
run = Harness("pgbouncer-test", POOLED, DIRECT, {"DIALER_PREPARED_STATEMENTS": "off"})
check, sql = run.check, run.sql


def pooler_transactions():
    """Transactions PgBouncer has passed to the dialer_pgb database so far (its SHOW STATS)."""
    rows = sql("SHOW STATS", url=ADMIN).splitlines()
    return sum(int(r.split("|")[1]) for r in rows if r.split("|")[0] == "dialer_pgb")


def main():
    run.dialer("migrate")
    run.dialer("tenant", "--id", "acme", "--verification", "approved", "--subaccount", SUBACCOUNT, "--number", CALLER)
    fake = run.start(["fake-twilio", "--port", "0", "--time-scale", "0.01", "--account", f"{SUBACCOUNT}={CALLER}"], {}, "listening on ")
    twilio = fake.split("listening on ")[1].split()[0]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    served = {"TWILIO_BASE_URL": twilio, "DIALER_STATUS_CALLBACK_URL": f"{base}/twilio/status", "DIALER_SERVE_ADDRESS": f"127.0.0.1:{port}"}
    jobs = 400
    rows = ["to,consent_type,consent_at,consent_source"] + [f"+1415556{1000 + i:04d},pec,2025-09-01T16:00:00Z,intake form" for i in range(jobs)]
    path = os.path.join(tempfile.gettempdir(), "pgbouncer-test.csv")
    open(path, "w").write("\n".join(rows) + "\n")
    before = pooler_transactions()
    run.dialer("enqueue", "--tenant", "acme", "--campaign", "pooled", "--objective", "Confirm the appointment", "--csv", path)
    run.start(["serve"], served, lambda _: healthy(f"{base}/healthz"))
    worker = dict(served, DIALER_CALLS_PER_SECOND="200", DIALER_CONCURRENCY="16")
    run.start(["run"], dict(worker, DIALER_LISTEN_DATABASE_URL=DIRECT), "")
    run.start(["run"], dict(worker, DIALER_LISTEN_DATABASE_URL="off"), "")
    run.wait("every job is dialed and its call's outcome applied", lambda: sql(
        "SELECT count(*) FROM call_jobs WHERE state IN ('queued', 'active', 'in_doubt', 'awaiting_outcome')") == "0", 120)
    check(True, f"{jobs} jobs dialed by two workers through PgBouncer, their outcomes applied by dialer serve through it")
    calls = json.load(urllib.request.urlopen(f"{twilio}/_fake/calls", timeout=10))
    by_number = collections.Counter(c["to"] for c in calls)
    dials = dict(tuple(r.split("|")) for r in sql(
        "SELECT j.destination, count(*) FROM call_attempts a JOIN call_jobs j ON j.id = a.job_id "
        "WHERE a.kind = 'dial' AND a.outcome = 'dialed' GROUP BY 1").splitlines())
    check(len(calls) >= jobs and all(by_number[n] == int(d) for n, d in dials.items()) and len(by_number) == len(dials),
          f"the fake's {len(calls)} calls match the attempt rows one for one (no job dialed twice)")
    workers = sql("SELECT count(DISTINCT worker) FROM call_attempts WHERE kind = 'dial'")
    check(workers == "2", f"both workers dialed ({workers}), the polling one too")
    settled = sql("SELECT count(*) FROM call_attempts WHERE kind = 'outcome'")
    stored = sql("SELECT count(*) FROM call_events")
    check(int(settled) >= jobs and int(stored) >= jobs, f"dialer serve stored {stored} callbacks and applied {settled} outcomes")
    through = pooler_transactions() - before
    check(through > jobs, f"PgBouncer passed {through} transactions to the database")
    # A pause through the pooler reaches both workers: the LISTENing one by NOTIFY, the polling one at its next poll.
    more = ["to,consent_type,consent_at,consent_source"] + [f"+1415557{1000 + i:04d},pec,2025-09-01T16:00:00Z,intake form" for i in range(50)]
    open(path, "w").write("\n".join(more) + "\n")
    run.dialer("pause", "--tenant", "acme", "--campaign", "later", "--reason", "pgbouncer test")
    run.dialer("enqueue", "--tenant", "acme", "--campaign", "later", "--objective", "Confirm the appointment", "--csv", path)
    time.sleep(3)
    dialed = sql("SELECT count(*) FROM call_attempts a JOIN call_jobs j ON j.id = a.job_id WHERE j.campaign_id = 'later' AND a.kind = 'dial'")
    check(dialed == "0", "no worker dials a paused campaign's jobs")
    run.dialer("resume", "--tenant", "acme", "--campaign", "later")
    run.wait("the resumed campaign is dialed", lambda: sql(
        "SELECT count(*) FROM call_jobs WHERE campaign_id = 'later' AND state IN ('queued', 'paused', 'active')") == "0", 60)
    check(True, "after resume both workers dial it")
    status = run.dialer("status")
    check("later" in status, "dialer status works through PgBouncer")


if __name__ == "__main__":
    try:
        main()
    finally:
        run.stop_all()
    print("pgbouncer-test: all checks passed")
