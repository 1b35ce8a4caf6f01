"""A fleet past one machine (run by ops/fleet-test/run, which builds the network and starts PgBouncer).

The database host is the root namespace (PostgreSQL behind PgBouncer on 10.77.0.1, and `dialer serve` for the status
callbacks); the fake Twilio is alone in dlr-twilio (10.77.0.10); one `dialer run` runs on each of the worker hosts
dlr-h1..h3, reaching the database through the pooler and the fake through a forwarder inside its own namespace. While
they drain, h1's worker is SIGKILLed and started again, and h2 is cut off the network for longer than a lease, then
brought back. Checks: no (job, attempt) is dialed twice (the fake's ledger: each call's StatusCallback names its job
and attempt) and every call at the fake is one a job recorded (a request stuck in the cut host's TCP buffers that
lands after its job was retried would not be), no job is lost (each ends final or scheduled, none left in a worker's hands or in doubt), the cut host's
late writes are fenced, and once back it dials again.
"""

import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from harness import ROOT, Harness, free_port, healthy  # noqa: E402

PORT = os.environ["DIALER_PGBOUNCER_PORT"]
POOLED = f"postgres://dialer@10.77.0.1:{PORT}/dialer_pgb"
SESSION = f"postgres://dialer@10.77.0.1:{PORT}/dialer_pgb_session"
DIRECT = os.environ["DIALER_PGBOUNCER_DIRECT_URL"]
SUBACCOUNT, CALLER = "AC0123456789abcdef0123456789abcdef", "+14155550100"
JOBS = int(os.environ.get("DIALER_FLEET_JOBS", "1200"))
run = Harness("fleet-test", os.environ["DIALER_PGBOUNCER_URL"], DIRECT, {"DIALER_PREPARED_STATEMENTS": "off"})
check, sql = run.check, run.sql
FORWARD = os.path.join(ROOT, "ops/python/tcp_forward.py")


def netns(name):
    return ["ip", "netns", "exec", f"dlr-{name}"]


def enqueue(campaign, first, count):
    rows = ["to,consent_type,consent_at,consent_source"] + [f"+1415{first + i:07d},pec,2025-09-01T16:00:00Z,intake form" for i in range(count)]
    path = os.path.join(tempfile.gettempdir(), f"fleet-test-{campaign}.csv")
    open(path, "w").write("\n".join(rows) + "\n")
    run.dialer("enqueue", "--tenant", "acme", "--campaign", campaign, "--objective", "Confirm the appointment", "--csv", path)


def main():
    run.dialer("migrate")
    run.dialer("tenant", "--id", "acme", "--verification", "approved", "--subaccount", SUBACCOUNT, "--number", CALLER)
    twilio_port = free_port()
    run.start(["fake-twilio", "--host", "10.77.0.10", "--port", str(twilio_port), "--time-scale", "0.01", "--account", f"{SUBACCOUNT}={CALLER}"],
              {}, "listening on ", prefix=netns("twilio"))
    # dialer serve (on the database host) reads the tenants' signing tokens from the fake through a forwarder of its own.
    serve_twilio = free_port()
    run.start([f"127.0.0.1:{serve_twilio}", f"10.77.0.10:{twilio_port}"], {}, "tcp-forward:", prefix=["python3", "-u"], program=FORWARD)
    serve_port, edge = free_port(), free_port()
    # Twilio reaches dialer serve through the edge (a load balancer in production): the fake calls back loopback hosts
    # only, so a forwarder in its namespace is the edge, and the URL Twilio is given (and signs) is the edge's.
    run.start([f"127.0.0.1:{edge}", f"10.77.0.1:{serve_port}"], {}, "tcp-forward:", prefix=[*netns("twilio"), "python3", "-u"], program=FORWARD)
    callback = f"http://127.0.0.1:{edge}/twilio/status"
    run.start(["serve"], {"DIALER_LOG_LEVEL": os.environ.get("FLEET_SERVE_LOG", "warning"), "DIALER_STATUS_CALLBACK_URL": callback, "DIALER_SERVE_ADDRESS": f"10.77.0.1:{serve_port}",
                          "TWILIO_BASE_URL": f"http://127.0.0.1:{serve_twilio}"}, lambda _: healthy(f"http://10.77.0.1:{serve_port}/healthz"))
    enqueue("fleet", 5_000_000, JOBS)
    local = free_port()
    worker_env = {
        "DATABASE_URL": POOLED, "DIALER_LISTEN_DATABASE_URL": SESSION, "TWILIO_BASE_URL": f"http://127.0.0.1:{local}",
        "DIALER_STATUS_CALLBACK_URL": callback, "DIALER_CALLS_PER_SECOND": "60", "DIALER_CONCURRENCY": "16",
        "DIALER_LEASE_SECONDS": "12", "DIALER_TWILIO_TIMEOUT_SECONDS": "4", "DIALER_RECOVERY_SECONDS": "2",
        "DIALER_RECONCILE_DELAY_SECONDS": "2", "DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS": "60", "DIALER_SWEEP_SECONDS": "2", "DIALER_OUTCOME_GRACE_SECONDS": "10",
        "DIALER_SHUTDOWN_TIMEOUT_SECONDS": "5",
    }
    workers = {}
    for host in ("h1", "h2", "h3"):
        run.start([f"127.0.0.1:{local}", f"10.77.0.10:{twilio_port}"], {}, "tcp-forward:", prefix=[*netns(host), "python3", "-u"], program=FORWARD)
        run.start(["run"], worker_env, "", prefix=netns(host))
        workers[host] = run.children[-1]
    dials = lambda: int(sql("SELECT count(*) FROM call_attempts WHERE kind = 'dial'"))  # noqa: E731
    run.wait("the fleet starts dialing", lambda: dials() > 50, 60)
    # h1's worker is SIGKILLed mid-drain and started again, as the chaos test does.
    os.kill(workers["h1"].pid, signal.SIGKILL)
    run.start(["run"], worker_env, "", prefix=netns("h1"))
    workers["h1"] = run.children[-1]
    # h2 is cut off while it holds jobs; it stays off for longer than a lease, so the others recover and reconcile them.
    run.wait("h2 holds jobs", lambda: int(sql(f"SELECT count(*) FROM call_jobs WHERE state = 'active' AND lease_owner LIKE '%:{workers['h2'].pid}:%'")) > 0, 30)
    held = int(sql(f"SELECT count(*) FROM call_jobs WHERE state = 'active' AND lease_owner LIKE '%:{workers['h2'].pid}:%'"))
    subprocess.run(["ip", "link", "set", "dlr-vh2", "down"], check=True)
    check(True, f"h2 cut off the network holding {held} jobs")
    run.wait("the others recover h2's jobs once its leases expire", lambda: sql(
        f"SELECT count(*) FROM call_jobs WHERE state = 'active' AND lease_owner LIKE '%:{workers['h2'].pid}:%'") == "0", 60)
    check(True, "h2's leases expired and its jobs were recovered by the other hosts")
    time.sleep(3)
    subprocess.run(["ip", "link", "set", "dlr-vh2", "up"], check=True)
    # Jobs found never dialed (after DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS) are retried within seconds: wait for them too.
    run.wait("every job is settled", lambda: sql(
        "SELECT count(*) FROM call_jobs WHERE state IN ('queued', 'active', 'in_doubt', 'awaiting_outcome') "
        "OR (state = 'retrying' AND run_at < now() + interval '2 minutes')") == "0", 240)
    check(True, f"all {JOBS} jobs settled: none in a worker's hands, none in doubt, none waiting for its outcome")
    states = dict(tuple(r.split("|")) for r in sql("SELECT state, count(*) FROM call_jobs GROUP BY 1").splitlines())
    check(sum(int(n) for n in states.values()) == JOBS and set(states) <= {"completed", "failed", "retrying"},
          f"none lost: {states}")
    calls = json.loads(subprocess.run([*netns("twilio"), "python3", "-c",
                                       f"import urllib.request; print(urllib.request.urlopen('http://10.77.0.10:{twilio_port}/_fake/calls').read().decode())"],
                                      capture_output=True, text=True, check=True).stdout)
    attempts = collections.Counter()
    for c in calls:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(c.get("status_callback") or "").query)
        attempts[(query.get("job", ["?"])[0], query.get("attempt", ["?"])[0])] += 1
    twice = {k: n for k, n in attempts.items() if n > 1}
    completed = int(states.get("completed", "0"))
    check(not twice and len(calls) >= completed, f"{len(calls)} calls at the fake, no (job, attempt) dialed twice{': ' + str(list(twice)[:5]) if twice else ''}")
    # A call whose SID no attempt recorded is one the fleet lost track of: a request that arrived after its job was
    # taken as never dialed, and dialed again.
    known = set(sql("SELECT DISTINCT twilio_call_sid FROM call_attempts WHERE twilio_call_sid IS NOT NULL").split())
    orphans = [c["sid"] for c in calls if c["sid"] not in known]
    check(not orphans, f"every call at the fake is one a job recorded (none dialed behind the fleet's back){': ' + str(orphans[:5]) if orphans else ''}")
    fenced = open(workers["h2"].log_path).read().count("outcome not applied")
    check(fenced > 0, f"back on the network, h2 found {fenced} of its late writes fenced")
    before = int(sql(f"SELECT count(*) FROM call_attempts WHERE kind = 'dial' AND worker LIKE '%:{workers['h2'].pid}:%'"))
    enqueue("after", 5_100_000, 300)
    run.wait("h2 dials again once back", lambda: int(sql(
        f"SELECT count(*) FROM call_attempts WHERE kind = 'dial' AND worker LIKE '%:{workers['h2'].pid}:%'")) > before, 60)
    check(True, "h2 carries on: it dials the new jobs beside the others")


if __name__ == "__main__":
    try:
        main()
    finally:
        run.stop_all()
    print("fleet-test: all checks passed")
