"""Page loads of the operator console for ops/bench (BENCH_ONLY=console): signs in as a person would (the sign-in
form's double-submit token), then loads each page ROUNDS times in a row on one keep-alive connection and prints the
median, p95 and slowest time to the last byte. Standard library only.

Usage: python3 console_load.py BASE_URL OPERATOR PASSWORD JOB_ID [ROUNDS=30]
"""
import http.client
import re
import statistics
import sys
import time
import urllib.parse

base, name, password, job = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 30
url = urllib.parse.urlsplit(base)
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
cookies = {}


def request(method, path, body=None):
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    if body is not None:
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "Origin": base})
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            pair = value.split(";")[0].split("=", 1)
            cookies[pair[0]] = pair[1]
    return response.status, text


status, form = request("GET", "/console/login")
csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
status, _ = request("POST", "/console/login", urllib.parse.urlencode({"csrf": csrf, "operator": name, "password": password}))
if status != 303:
    sys.exit(f"console-load: sign-in answered {status}")
pages = ["/console", "/console/campaigns/bench/c7", f"/console/calls/{job}", "/console/subaccounts", "/console/workers",
         "/console/audit", "/console/live?view=campaigns&once=1"]
for path in pages:
    times = []
    for i in range(rounds + 3):
        start = time.perf_counter()
        status, text = request("GET", path)
        elapsed = (time.perf_counter() - start) * 1000
        if status != 200:
            sys.exit(f"console-load: {path} answered {status}: {text[:200]}")
        if i >= 3:  # the first three warm the caches (the policy book, PostgreSQL's plans)
            times.append(elapsed)
    times.sort()
    print(f"  {path:<40} median {statistics.median(times):7.1f} ms  p95 {times[int(len(times) * 0.95) - 1]:7.1f} ms  "
          f"max {times[-1]:7.1f} ms  ({len(text) // 1024} KiB)")
