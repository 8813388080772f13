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

from common import HERE, PLATFORM, Result, item_input, make_accounts, median

# One token sends thousands of requests a minute here: the API's rate limit (600/minute by default,
# web/rate_limits.py) would answer 429s. Off for the comparison with the hand-written endpoint,
# which has none; an explicit setting wins.
os.environ.setdefault("TESSERA_RATE_LIMIT_API", "off")

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
    requests = args.requests
    for key, call in calls.items():     # warm-up: compiled-statement caches, pools, token cache
        for i in range(min(200, requests)):
            call(i)
    # Short interleaved chunks (alternating which app goes first), median chunk rate per app: the
    # machine may be shared, and load that comes and goes then hits both sides alike.
    rates = {key: [] for key in calls}
    cpu = {key: 0.0 for key in calls}
    chunk = max(1, requests // args.rounds)
    i = 0
    for op in OPS:
        for r in range(args.rounds):
            for who in (("tessera", "baseline") if r % 2 == 0 else ("baseline", "tessera")):
                call = calls[(who, op)]
                c0, t0 = time.process_time(), time.perf_counter()
                for _ in range(chunk):
                    call(i)
                    i += 1
                rates[(who, op)].append(chunk / (time.perf_counter() - t0))
                cpu[(who, op)] += time.process_time() - c0
    results = []
    for op in OPS:
        t, b = median(rates[("tessera", op)]), median(rates[("baseline", op)])
        r = _ratio_result(f"1a {op} in-process (test client)", org, t, b)
        r.note = (f"median of {args.rounds} chunks of {chunk}; CPU time per request {cpu[('tessera', op)] / (chunk * args.rounds) * 1e3:.2f} "
                  f"vs {cpu[('baseline', op)] / (chunk * args.rounds) * 1e3:.2f} ms")
        results.append(r)
    return results


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


def _start_server(factory: str, org, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, BENCH_DATABASE_URL=org.url, BENCH_USER_ID=str(org.admin_id),
               PYTHONPATH=os.pathsep.join(p for p in [str(PLATFORM), str(HERE), os.environ.get("PYTHONPATH")] if p))
    cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", str(threads),
           "-b", f"127.0.0.1:{port}", "--chdir", str(HERE), "--log-level", "warning", factory]
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=err, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}: {log.read_text()[-2000:]}")
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


def _last_error(log: Path) -> str:
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if "Error" in ln and not ln.startswith(" ")]
    return lines[-1][:200] if lines else "(nothing logged)"


def _stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wrk(url, env, seconds, connections) -> tuple[float, int, str]:
    """(successful requests per second, failed requests, latency note)."""
    out = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "-s", env["BENCH_SCRIPT"], url],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)\b", out)
    seconds_taken = float(m.group(2)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[m.group(3)]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    failed = (int(bad.group(1)) if bad else 0)
    if errors:
        failed += sum(int(n) for n in re.findall(r"\d+", errors.group(0)))
    latency = re.search(r"Latency\s+(\S+)", out)
    return (int(m.group(1)) - failed) / seconds_taken, failed, f"avg latency {latency.group(1)}" if latency else ""


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
print((sum(counts) - sum(bad)) / (time.monotonic() - t0), sum(bad))
"""
    out = subprocess.run([sys.executable, "-c", code, host, str(port), str(seconds), str(connections)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]), "python load generator"


def run_server(org, accounts, ids, args) -> list[Result]:
    """Both servers run side by side (an idle one costs nothing); the load alternates between them
    in short runs, so load from elsewhere on the machine hits both alike. Median run per app."""
    import importlib.util

    from baseline import SECRET

    if importlib.util.find_spec("gunicorn") is None:
        return [Result("1b server", _db(org), "skipped", "pip install -e '.[bench]'", None,
                       "gunicorn is not installed")]
    tmp = Path(tempfile.mkdtemp(prefix="tessera-bench-wrk-"))
    procs = []
    try:
        (tmp / "ids.txt").write_text("\n".join(ids) + "\n")
        (tmp / "load.lua").write_text(_LUA)
        body = json.dumps(item_input(7, accounts))
        apps = {
            "tessera": ("wsgi:tessera_app()", "/api/v1/records/bench_item", f"Bearer {org.token}"),
            "baseline": ("wsgi:baseline_app()", "/items", SECRET),
        }
        use_wrk = shutil.which("wrk") is not None
        ports = {}
        for who, (factory, _prefix, _auth) in apps.items():
            ports[who] = _free_port()
            procs.append(_start_server(factory, org, ports[who], args.workers, args.threads, tmp / f"{who}.log"))
        rates: dict[tuple[str, str], list[float]] = {}
        failed: dict[tuple[str, str], int] = {}
        notes = []

        def load(who, op, seconds):
            _factory, prefix, auth = apps[who]
            env = dict(os.environ, BENCH_IDS=str(tmp / "ids.txt"), BENCH_PREFIX=prefix, BENCH_METHOD=op,
                       BENCH_BODY=body, BENCH_AUTH=auth, BENCH_SCRIPT=str(tmp / "load.lua"))
            if use_wrk:
                return _wrk(f"http://127.0.0.1:{ports[who]}{prefix}", env, seconds, args.connections)
            return _pyload("127.0.0.1", ports[who], env, seconds, args.connections)

        for op in OPS:
            for who in apps:
                load(who, op, 1)                                    # warm-up (both workers)
            for r in range(args.server_rounds):
                for who in (("tessera", "baseline") if r % 2 == 0 else ("baseline", "tessera")):
                    rate, bad, detail = load(who, op, args.seconds)
                    rates.setdefault((who, op), []).append(rate)
                    failed[(who, op)] = failed.get((who, op), 0) + bad
        generator = "wrk" if use_wrk else "python"
        results = []
        for op in OPS:
            r = _ratio_result(f"1b {op} server (gunicorn {args.workers}w, {generator} c={args.connections})", org,
                              median(rates[("tessera", op)]), median(rates[("baseline", op)]))
            bad = {who: failed[(who, op)] for who in apps if failed[(who, op)]}
            if bad:
                r.passed = False
                r.figure += " (errors!)"
                r.note = "failed requests (not counted in the rates): " + ", ".join(f"{w} {n}" for w, n in bad.items())
                r.note += "".join(f"; {w} log: {_last_error(tmp / f'{w}.log')}" for w in bad)
            results.append(r)
        notes.append(f"median of {args.server_rounds} alternating {args.seconds}s runs per app and operation, "
                     f"{args.workers} workers x {args.threads} threads each; runs (req/s): " + ", ".join(
                         f"{who} {op} " + "/".join(f"{x:.0f}" for x in rates[(who, op)]) for op in OPS for who in apps))
        results[0].note = "; ".join(filter(None, [results[0].note, *notes]))
        return results
    finally:
        for proc in procs:
            _stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def prepare(org, n_items=1000):
    accounts = make_accounts(org, 50)
    ids = org.services.records.bulk_create(org.actor, "bench_item", [item_input(i, accounts) for i in range(n_items)])
    return accounts, ids
