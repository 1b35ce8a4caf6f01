"""A tenant's day on the /v1 API, with nothing but Python's `requests` and the operator's `dialer keys` CLI.

Usage: python tenant_day.py BASE_URL DIALER TENANT
  BASE_URL  dialer serve's public URL (http://127.0.0.1:PORT)
  DIALER    the dialer executable; DATABASE_URL in the environment names its database
  TENANT    an approved tenant with a subaccount and a selected number

Creates a key (a burst of 8, 1 request per second), places calls one at a time (with an Idempotency-Key, replayed) and
in bulk, reads them and pages through them, cancels one, reads the campaign, runs into the rate limit, rotates the key
(both keys work during the grace), revokes the old one, and checks every error's {error, message, details}. Prints
one JSON line of what it saw; exits non-zero on the first surprise.
"""
import json
import subprocess
import sys
import time

import requests

BASE, DIALER, TENANT = sys.argv[1], sys.argv[2], sys.argv[3]
CONSENT = {"type": "prior_express", "at": "2026-01-05T10:00:00Z", "source": "web form 12"}


def cli(*args):
    done = subprocess.run([DIALER, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"dialer {' '.join(args)}: {done.stderr}"
    return json.loads(done.stdout)


def api(method, path, key, body=None, headers=None, expect=None):
    answer = requests.request(method, BASE + path, json=body, timeout=60,
                              headers={"Authorization": f"Bearer {key}", **(headers or {})})
    data = answer.json()
    if expect is not None:
        assert answer.status_code == expect, f"{method} {path}: {answer.status_code} {data}"
    if answer.status_code >= 400:
        assert set(data) == {"error", "message", "details"}, f"{method} {path}: not the error contract's shape: {data}"
        assert isinstance(data["details"], dict) and data["message"], data
    return answer, data


def call(to, **extra):
    return {"to": to, "objective": "Confirm tomorrow's appointment", "consent": CONSENT, **extra}


seen = {}
made = cli("keys", "create", "--tenant", TENANT, "--scopes", "calls:write,calls:read,campaigns:write",
           "--rate-per-second", "1", "--burst", "8", "--json")
key, key_id = made["key"], made["id"]
assert key.startswith(made["prefix"] + "_"), made

# 1-2: one call, then the same request again: the stored answer, not a second call.
first, created = api("POST", "/v1/calls", key, call("+14155552301"), {"Idempotency-Key": "day-1"}, expect=201)
again, replayed = api("POST", "/v1/calls", key, call("+14155552301"), {"Idempotency-Key": "day-1"}, expect=201)
assert replayed == created and again.headers.get("Idempotent-Replayed") == "true", (created, replayed)
assert first.headers["RateLimit-Limit"] == "8", dict(first.headers)

# 3: a campaign's calls in one request.
_, bulk = api("POST", "/v1/campaigns/spring/calls", key,
              {"calls": [call(f"+1415555231{n}") for n in range(3)]}, expect=201)
assert bulk["created"] == 3 and [c["index"] for c in bulk["calls"]] == [0, 1, 2], bulk

# 4: read one, page through the campaign two at a time.
_, read = api("GET", f"/v1/calls/{created['id']}", key, expect=200)
assert read["id"] == created["id"] and read["state"] == "queued", read
_, page = api("GET", "/v1/calls?campaign_id=spring&limit=2", key, expect=200)
_, rest = api("GET", f"/v1/calls?campaign_id=spring&limit=2&cursor={page['next_cursor']}", key, expect=200)
ids = [c["id"] for c in page["data"] + rest["data"]]
assert sorted(ids) == sorted(c["id"] for c in bulk["calls"]) and rest["next_cursor"] is None, (page, rest)

# 5-6: cancel one; the campaign's counts.
_, cancelled = api("POST", f"/v1/calls/{ids[0]}/cancel", key, expect=200)
assert cancelled["state"] == "cancelled" and cancelled["cancelled"] is True, cancelled
_, campaign = api("GET", "/v1/campaigns/spring", key, expect=200)
assert campaign["total"] == 3 and campaign["states"].get("cancelled") == 1, campaign

# 7: the budget (8 requests, then 1 a second) runs out: 429 rate_limited with Retry-After.
for attempt in range(20):
    limited, refusal = api("GET", f"/v1/calls/{created['id']}", key)
    if limited.status_code == 429:
        break
assert limited.status_code == 429 and refusal["error"] == "rate_limited", refusal
retry_after = int(limited.headers["Retry-After"])
assert retry_after >= 1 and limited.headers["RateLimit-Remaining"] == "0", dict(limited.headers)
seen["rate_limited_after"] = attempt + 1

# 8: rotate: a new key; the old one works until its grace ends.
rotated = cli("keys", "rotate", key_id, "--grace", "15m", "--json")
new_key = rotated["key"]
assert new_key != key, rotated
api("GET", f"/v1/calls/{created['id']}", new_key, expect=200)
time.sleep(retry_after)
api("GET", f"/v1/calls/{created['id']}", key, expect=200)

# 9: revoke the old key: key_revoked; the new one goes on.
cli("keys", "revoke", key_id, "--json")
_, revoked = api("GET", f"/v1/calls/{created['id']}", key, expect=401)
assert revoked["error"] == "key_revoked", revoked
api("GET", f"/v1/calls/{created['id']}", new_key, expect=200)
_, bad = api("GET", "/v1/calls", "not-a-key", expect=401)
assert bad["error"] == "invalid_token", bad

seen.update(calls=len(ids) + 1, cancelled=ids[0], revoked=key_id, new_key_id=rotated["id"])
print(json.dumps(seen, sort_keys=True))
