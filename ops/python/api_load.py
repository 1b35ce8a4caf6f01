"""Load for ops/bench's /v1 section: POST /v1/calls from CONCURRENCY threads, each on its own keep-alive connection, or
one bulk POST /v1/campaigns/{id}/calls. Standard library only.

Usage: python3 api_load.py calls BASE_URL KEY REQUESTS CONCURRENCY START
       python3 api_load.py bulk  BASE_URL KEY CALLS START
START numbers the destinations (+1415 3000000 + START + i), so every request asks for another person.
Prints one line: requests/s and latency percentiles (calls), or the request's time (bulk), and the status codes seen.
"""
import collections
import http.client
import json
import sys
import threading
import time
import urllib.parse

mode, base, key = sys.argv[1], sys.argv[2], sys.argv[3]
url = urllib.parse.urlsplit(base)
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def call(n):
    return {"to": f"+1415{3000000 + n:07d}", "objective": "Benchmark call",
            "consent": {"type": "prior_express", "source": "bench"}}


def connect():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=120)


if mode == "calls":
    requests, concurrency, start = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    latencies, statuses, lock = [], collections.Counter(), threading.Lock()
    counter = iter(range(requests))

    def worker():
        connection = connect()
        mine, seen = [], collections.Counter()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            body = json.dumps(call(start + n))
            t0 = time.perf_counter()
            connection.request("POST", "/v1/calls", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            mine.append(time.perf_counter() - t0)
            seen[answer.status] += 1
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()

    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(f"POST /v1/calls, {concurrency} in flight: {requests / elapsed:.0f} requests/s, ms p50 {pct(0.5):.1f} p99 {pct(0.99):.1f}"
          f" max {1000 * latencies[-1]:.1f}; statuses {dict(sorted(statuses.items()))}")
else:
    calls, start = int(sys.argv[4]), int(sys.argv[5])
    body = json.dumps({"calls": [call(start + i) for i in range(calls)]})
    connection = connect()
    t0 = time.perf_counter()
    connection.request("POST", "/v1/campaigns/bench-bulk/calls", body=body, headers=headers)
    answer = connection.getresponse()
    data = json.loads(answer.read())
    elapsed = time.perf_counter() - t0
    print(f"POST /v1/campaigns/{{id}}/calls with {calls} calls ({len(body) / 1e6:.1f} MB): {elapsed:.2f} s = {calls / elapsed:.0f} calls/s;"
          f" status {answer.status}, created {data.get('created')}")
