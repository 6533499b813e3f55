"""MSAL Python (Debian's python3-msal) in `npm run bench`, against the bench's local authority.

Run by bench/support/python.ts with /usr/bin/python3:
    msal_bench.py <task> <authority base url> <cache json file or -> <n> <spawned at, epoch ms>

Every request MSAL Python makes for https://<host>/... goes to the local authority instead,
with the original host in `x-forwarded-host` (as test/peers/msal_python.py does). Prints one
line `@@bench <json>`. Every loop is bounded in count and in time.

Tasks:
  cache-hit      acquire_token_silent(scopes, account=None) for one of n cached app tokens
                 (MSAL Python 1.21 serves app tokens from the cache this way; its
                 acquire_token_for_client always sends a request)
  concurrency    n threads, each silent first then acquire_token_for_client (the documented
                 pattern), for one uncached scope
  heap           tracemalloc growth after deserialize() of n tokens, the JSON dropped
  serialization  deserialize() and serialize() of n tokens, 7 runs after one warm-up, median
  cold-start     import msal, build the client, get the first token
"""
import sys
import time

SPAWNED = time.time()
STARTED = time.perf_counter()

import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import tracemalloc  # noqa: E402
import urllib.parse  # noqa: E402

CLIENT_ID = "b3c6a1f0-7d2e-4c55-9a0b-2f1e3d4c5b6a"
SECRET = "bench-s3cret"
HOST = "login.microsoftonline.com"
TENANT = "7a1e0000-0000-4000-8000-000000000001"
HIT_SCOPE = "api://bench-resource-0-x/.default"
COLD_SCOPE = "https://graph.microsoft.com/.default"
WARM_SCOPE = "https://management.azure.com/.default"


def app_for(msal, base, cache, log):
    import requests
    import requests.adapters

    class Via(requests.Session):
        def request(self, method, url, *args, **kwargs):
            parts = urllib.parse.urlsplit(url)
            target = base.rstrip("/") + parts.path + ("?" + parts.query if parts.query else "")
            headers = dict(kwargs.pop("headers", None) or {})
            headers["x-forwarded-host"] = parts.hostname
            log.append(method.upper() + " " + parts.path)
            return super().request(method, target, *args, headers=headers, **kwargs)

    session = Via()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
    return msal.ConfidentialClientApplication(
        CLIENT_ID, client_credential=SECRET, authority="https://%s/%s" % (HOST, TENANT),
        token_cache=cache, http_client=session)


def summarize(samples, wall, bound):
    """As bench/support/stats.ts: nearest-rank percentiles, milliseconds."""
    ordered = sorted(samples)
    n = len(ordered)
    rank = lambda p: ordered[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))]  # noqa: E731
    return {"samples": n, "median": rank(50), "p99": rank(99), "mean": sum(ordered) / n,
            "perSecond": n / (wall / 1000), "bound": bound}


def cache_hit(msal, base, cache_json, n):
    log = []
    cache = msal.SerializableTokenCache()
    t0 = time.perf_counter()
    cache.deserialize(cache_json)
    populate = (time.perf_counter() - t0) * 1000
    app = app_for(msal, base, cache, log)
    cached = len(cache.find(msal.TokenCache.CredentialType.ACCESS_TOKEN))
    scopes = [HIT_SCOPE]
    misses = 0
    # bounded: at 100,000 tokens each call scans the cache, so fewer calls there
    warmup, max_samples, max_ms = (3, 200, 15000) if n >= 50000 else (500, 100000, 1500)
    warmup_end = time.perf_counter() + (2.0 if n >= 50000 else 0.5)
    for _ in range(warmup):
        app.acquire_token_silent(scopes, account=None)
        if time.perf_counter() > warmup_end:
            break
    before = len(log)
    samples = []
    start = time.perf_counter()
    deadline = start + max_ms / 1000
    while len(samples) < max_samples:
        t0 = time.perf_counter()
        result = app.acquire_token_silent(scopes, account=None)
        t1 = time.perf_counter()
        samples.append((t1 - t0) * 1000)
        if not result or "access_token" not in result:
            misses += 1
        if t1 > deadline:
            break
    wall = (time.perf_counter() - start) * 1000
    bound = "samples" if len(samples) == max_samples else "time"
    misses += sum(1 for line in log[before:] if line.startswith("POST"))
    return {"library": "python", "size": n, "cached": cached, "populateMillis": populate,
            "misses": misses, "runs": {"silent": summarize(samples, wall, bound)}}


def concurrency(msal, base, calls):
    log = []
    app = app_for(msal, base, msal.SerializableTokenCache(), log)
    app.acquire_token_for_client([WARM_SCOPE])
    scopes = [COLD_SCOPE]
    outcomes = []
    gate = threading.Event()

    def call():
        gate.wait()
        result = app.acquire_token_silent(scopes, account=None) or app.acquire_token_for_client(scopes)
        outcomes.append(bool(result and "access_token" in result))

    threads = [threading.Thread(target=call, daemon=True) for _ in range(calls)]
    for t in threads:
        t.start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    gate.set()
    for t in threads:
        t.join(timeout=120)
    wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - cpu0) * 1000
    ok = sum(outcomes)
    return {"library": "python", "calls": calls, "mode": "threads", "wallMillis": wall, "cpuMillis": cpu,
            "succeeded": ok, "failed": calls - ok}


def heap(msal, cache_json, n):
    gc.collect()
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    cache = msal.SerializableTokenCache()
    text = cache_json()
    cache.deserialize(text)
    del text
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    cached = len(cache.find(msal.TokenCache.CredentialType.ACCESS_TOKEN))
    return {"library": "python", "path": "deserialize", "tokens": n, "cached": cached,
            "heapBefore": before, "heapAfter": after, "bytesPerToken": (after - before) / n}


def serialization(msal, cache_json, n):
    deserialize, serialize, out = [], [], ""
    for i in range(8):
        cache = msal.SerializableTokenCache()
        t0 = time.perf_counter()
        cache.deserialize(cache_json)
        t1 = time.perf_counter()
        cache.has_state_changed = True
        out = cache.serialize()
        t2 = time.perf_counter()
        if i > 0:
            deserialize.append((t1 - t0) * 1000)
            serialize.append((t2 - t1) * 1000)
    return {"library": "python", "tokens": n, "deserialize": statistics.median(deserialize),
            "serialize": statistics.median(serialize), "outputBytes": len(out.encode()),
            "roundTripped": len(json.loads(out).get("AccessToken", {}))}


def cold_start(base, spawned_ms):
    boot = (SPAWNED * 1000 - spawned_ms) if spawned_ms else 0.0
    at = lambda: boot + (time.perf_counter() - STARTED) * 1000  # noqa: E731
    first = at()
    import msal
    imported = at()
    log = []
    result = app_for(msal, base, msal.SerializableTokenCache(), log).acquire_token_for_client([COLD_SCOPE])
    token = at()
    source = "identity_provider" if result and "access_token" in result and log else "none"
    return {"boot": first, "peers": first, "imported": imported, "token": token, "source": source}


def main():
    task, base, cache_file = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    if task == "cold-start":
        print("\n@@bench " + json.dumps(cold_start(base, float(sys.argv[5]))))
        return
    import msal

    def read():
        with open(cache_file) as f:
            return f.read()

    if task == "cache-hit":
        result = cache_hit(msal, base, read(), n)
    elif task == "concurrency":
        result = concurrency(msal, base, n)
    elif task == "heap":
        result = heap(msal, read, n)
    elif task == "serialization":
        result = serialization(msal, read(), n)
    else:
        raise ValueError("unknown task " + task)
    print("\n@@bench " + json.dumps(result))


if __name__ == "__main__":
    main()
