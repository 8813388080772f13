"""1. GET / POST / PATCH of one record through the full Flask app versus the hand-written endpoint.

(a) in process, with Flask's WSGI test client, one request at a time;
(b) a real server: gunicorn, 2 workers (gthread, keep-alive), loaded by `wrk` (or, when wrk is not
    installed, by a separate Python process with keep-alive http.client connections on threads).
Target: Tessera's throughput >= 0.8 x the hand-written one's, per operation.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import HERE, PLATFORM, Result, item_input, make_accounts, open_org

TARGET_RATIO = 0.8
OPS = ("GET", "POST", "PATCH")


def _check(response, status):
    if response.status_code != status:
        raise AssertionError(f"expected {status}, got {response.status_code}: {response.get_data(as_text=True)[:300]}")


def run_inprocess(org, accounts, ids, args) -> list[Result]:
    from baseline import SECRET, create_baseline_app
    from tessera.web.app import create_app

    tc = create_app(services=org.services).test_client()
    bc = create_baseline_app(org.url, org.admin_id).test_client()
    th = {"Authorization": f"Bearer {org.token}"}
    bh = {"Authorization": SECRET}
    n = len(ids)

    def patch_body(i):
        return {"amount": (i * 37) % 90000 + 0.5, "quantity": i % 400}

    calls = {
        ("tessera", "GET"): lambda i: _check(tc.get(f"/api/v1/records/bench_item/{ids[i % n]}", headers=th), 200),
        ("baseline", "GET"): lambda i: _check(bc.get(f"/items/{ids[i % n]}", headers=bh), 200),
        ("tessera", "POST"): lambda i: _check(tc.post("/api/v1/records/bench_item", json=item_input(i, accounts),
                                                      headers=th), 201),
        ("baseline", "POST"): lambda i: _check(bc.post("/items", json=item_input(i, accounts), headers=bh), 201),
        ("tessera", "PATCH"): lambda i: _check(tc.patch(f"/api/v1/records/bench_item/{ids[i % n]}",
                                                        json=patch_body(i), headers=th), 200),
        ("baseline", "PATCH"): lambda i: _check(bc.patch(f"/items/{ids[i % n]}", json=patch_body(i), headers=bh), 200),
    }
    best = {key: 0.0 for key in calls}
    requests = args.requests
    for key, call in calls.items():     # warm-up: compiled-statement caches, pools, token cache
        for i in range(min(200, requests)):
            call(i)
    for _round in range(args.rounds):   # interleaved rounds, best of each: the least-disturbed figure
        for op in OPS:
            for who in ("tessera", "baseline"):
                call = calls[(who, op)]
                t0 = time.perf_counter()
                for i in range(requests):
                    call(i + 1000 * _round)
                best[(who, op)] = max(best[(who, op)], requests / (time.perf_counter() - t0))
    return [_ratio_result(f"1a {op} in-process (test client)", org, best[("tessera", op)], best[("baseline", op)])
            for op in OPS]


def _ratio_result(name, org, tessera_rate, baseline_rate) -> Result:
    ratio = tessera_rate / baseline_rate if baseline_rate else 0.0
    return Result(name, _db(org), f"{tessera_rate:,.0f} vs {baseline_rate:,.0f} req/s = {ratio:.2f}x",
                  f">= {TARGET_RATIO}x", ratio >= TARGET_RATIO)


def _db(org) -> str:
    return "sqlite" if org.url.startswith("sqlite") else "postgresql"


# -- (b) a real server --------------------------------------------------------------------
_LUA = r"""
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local prefix = os.getenv("BENCH_PREFIX")
local method = os.getenv("BENCH_METHOD")
local post_body = os.getenv("BENCH_BODY")
local headers = {["Authorization"] = os.getenv("BENCH_AUTH"), ["Content-Type"] = "application/json"}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end
function init(args)
  math.randomseed(seed * 7919)
end
function request()
  local id = ids[math.random(1, #ids)]
  if method == "GET" then
    return wrk.format("GET", prefix .. "/" .. id, headers)
  elseif method == "POST" then
    return wrk.format("POST", prefix, headers, post_body)
  end
  local body = string.format('{"amount": %d.%02d, "quantity": %d}', math.random(0, 99999), math.random(0, 99),
                             math.random(0, 499))
  return wrk.format("PATCH", prefix .. "/" .. id, headers, body)
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(factory: str, org, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, BENCH_DATABASE_URL=org.url, BENCH_USER_ID=str(org.admin_id),
               PYTHONPATH=os.pathsep.join(p for p in [os.environ.get("PYTHONPATH"), str(PLATFORM), str(HERE)] if p))
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
           "-b", f"127.0.0.1:{port}", "--chdir", str(HERE), "--log-level", "warning", factory]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            # every worker imports lazily: touch the server a few more times so both are warm
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def _stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wrk(url, env, seconds, connections) -> tuple[float, int, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", env["BENCH_SCRIPT"], url],
                         env=env, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    latency = re.search(r"Latency\s+(\S+)", out)
    return rate, int(bad.group(1)) if bad else 0, (errors.group(0) if errors else "") + \
        (f" avg latency {latency.group(1)}" if latency else "")


def _pyload(host, port, env, seconds, connections) -> tuple[float, int, str]:
    """Fallback load generator: a separate process, `connections` threads, keep-alive connections."""
    code = r"""
import http.client, json, os, random, sys, threading, time
host, port, seconds, nconn = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ids = open(os.environ["BENCH_IDS"]).read().split()
method, prefix = os.environ["BENCH_METHOD"], os.environ["BENCH_PREFIX"]
headers = {"Authorization": os.environ["BENCH_AUTH"], "Content-Type": "application/json"}
counts, bad = [0] * nconn, [0] * nconn
stop = time.monotonic() + seconds
def worker(k):
    conn = http.client.HTTPConnection(host, port)
    rnd = random.Random(k)
    while time.monotonic() < stop:
        rid = rnd.choice(ids)
        if method == "GET":
            conn.request("GET", f"{prefix}/{rid}", headers=headers)
        elif method == "POST":
            conn.request("POST", prefix, body=os.environ["BENCH_BODY"], headers=headers)
        else:
            body = json.dumps({"amount": rnd.randint(0, 99999) + 0.25, "quantity": rnd.randint(0, 499)})
            conn.request("PATCH", f"{prefix}/{rid}", body=body, headers=headers)
        r = conn.getresponse(); r.read()
        counts[k] += 1
        bad[k] += r.status >= 400
threads = [threading.Thread(target=worker, args=(k,)) for k in range(nconn)]
t0 = time.monotonic()
[t.start() for t in threads]; [t.join() for t in threads]
print(sum(counts) / (time.monotonic() - t0), sum(bad))
"""
    out = subprocess.run([sys.executable, "-c", code, host, str(port), str(seconds), str(connections)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), "python load generator"


def run_server(org, accounts, ids, args) -> list[Result]:
    from baseline import SECRET

    tmp = Path(tempfile.mkdtemp(prefix="tessera-bench-wrk-"))
    try:
        (tmp / "ids.txt").write_text("\n".join(ids) + "\n")
        (tmp / "load.lua").write_text(_LUA)
        body = json.dumps(item_input(7, accounts))
        apps = {
            "tessera": ("wsgi:tessera_app()", "/api/v1/records/bench_item", f"Bearer {org.token}"),
            "baseline": ("wsgi:baseline_app()", "/items", SECRET),
        }
        use_wrk = shutil.which("wrk") is not None
        rates: dict[tuple[str, str], float] = {}
        notes = []
        for who, (factory, prefix, auth) in apps.items():
            port = _free_port()
            proc = _start_server(factory, org, port, args.workers, args.threads)
            try:
                for op in OPS:
                    env = dict(os.environ, BENCH_IDS=str(tmp / "ids.txt"), BENCH_PREFIX=prefix, BENCH_METHOD=op,
                               BENCH_BODY=body, BENCH_AUTH=auth, BENCH_SCRIPT=str(tmp / "load.lua"))
                    url = f"http://127.0.0.1:{port}{prefix}"
                    load = (lambda s: _wrk(url, env, s, args.connections)) if use_wrk else \
                        (lambda s: _pyload("127.0.0.1", port, env, s, args.connections))
                    load(1)                                   # warm-up
                    rate, bad, detail = load(args.seconds)
                    rates[(who, op)] = rate
                    notes.append(f"{who} {op}: {rate:,.0f} req/s{detail}")
                    if bad:
                        notes.append(f"{who} {op}: {bad} non-2xx responses!")
                        rates[(who, op)] = 0.0 if who == "tessera" else rate
            finally:
                _stop_server(proc)
        generator = "wrk" if use_wrk else "python"
        results = []
        for op in OPS:
            r = _ratio_result(f"1b {op} server (gunicorn {args.workers}w, {generator} c={args.connections})", org,
                              rates[("tessera", op)], rates[("baseline", op)])
            results.append(r)
        results[-1].note = "; ".join(notes)
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare(org, n_items=1000):
    accounts = make_accounts(org, 50)
    ids = org.services.records.bulk_create(org.actor, "bench_item", [item_input(i, accounts) for i in range(n_items)])
    return accounts, ids
