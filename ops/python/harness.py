"""What the end-to-end checks under ops/ share: running the dialer binary with a test environment, starting its
processes and waiting for them to be ready, psql, and one line per check (the first failure stops the run with exit
status 1). Standard library only.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIALER = os.environ.get("DIALER_BIN", os.path.join(ROOT, ".build/debug/dialer"))
PSQL = os.path.join(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url):
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except Exception:
        return False


class Harness:
    """One run: `name` prefixes its lines; `database_url` is the dialer's DATABASE_URL, `sql_url` psql's."""

    def __init__(self, name, database_url, sql_url, environment=None):
        self.name, self.database_url, self.sql_url = name, database_url, sql_url
        self.environment = environment or {}
        self.children = []

    def check(self, condition, what):
        if not condition:
            print(f"{self.name}: FAILED: {what}", flush=True)
            raise SystemExit(1)
        print(f"{self.name}: ok: {what}", flush=True)

    def env(self, extra=None):
        e = dict(os.environ)
        e.update({
            "DATABASE_URL": self.database_url,
            "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000c01", "TWILIO_AUTH_TOKEN": f"{self.name}-token",
            "DIALER_VOICE_URL": "http://127.0.0.1:9/agent/twiml", "DIALER_GATE_TIME": "2026-12-02T18:00:00Z",
            "DIALER_LOG_LEVEL": "warning", "DIALER_OPS_ADDRESS": "off", "DIALER_POLL_MS": "200",
        })
        e.update(self.environment)
        e.update(extra or {})
        return e

    def dialer(self, *args, stdin=None, extra=None):
        run = subprocess.run([DIALER, *args], input=stdin, capture_output=True, text=True, env=self.env(extra), timeout=120)
        if run.returncode != 0:
            print(run.stdout, run.stderr, file=sys.stderr)
            raise SystemExit(f"{self.name}: dialer {' '.join(args)} failed ({run.returncode})")
        return run.stdout

    def sql(self, query, url=None):
        return subprocess.run([PSQL, url or self.sql_url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", query],
                              capture_output=True, text=True, check=True).stdout.strip()

    def start(self, args, extra, ready, prefix=(), program=None):
        """Starts `dialer ARGS` (or `program ARGS`), after `prefix` (`ip netns exec NS`); returns its log once `ready` (a
        substring, or a predicate of the log) holds. The process is `self.children[-1]`; its log path `.log_path`."""
        log = tempfile.NamedTemporaryFile("w+", delete=False, prefix=f"{self.name}-", suffix=".log")
        process = subprocess.Popen([*prefix, program or DIALER, *args], stdout=log, stderr=subprocess.STDOUT, env=self.env(extra))
        process.log_path = log.name
        self.children.append(process)
        for _ in range(300):
            text = open(log.name).read()
            if (ready(text) if callable(ready) else ready in text):
                return text
            if process.poll() is not None:
                raise SystemExit(f"{self.name}: dialer {args[0]} exited: {text[-2000:]}")
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: dialer {args[0]} did not start")

    def wait(self, what, condition, seconds=30):
        """Polls `condition` until it holds; fails the run with `what` after `seconds`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if condition():
                    return True
            except Exception:
                pass
            time.sleep(0.25)
        self.check(False, what)

    def stop_all(self):
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
