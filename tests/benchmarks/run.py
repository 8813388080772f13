#!/usr/bin/env python3
"""Tessera's benchmarks, on demand (never collected by pytest). From the repository root:

    python tests/benchmarks/run.py                                   # everything, temporary SQLite files
    python tests/benchmarks/run.py --database postgresql://postgres@127.0.0.1:5432/tessera_bench
    python tests/benchmarks/run.py --database sqlite --database postgresql://...   # both, one table
    python tests/benchmarks/run.py --only query,add_field --rows 100000          # a quick subset

Benchmarks (--only NAME[,NAME]): runtime, http (in-process), server (gunicorn + wrk), bulk, query,
add_field, decisions (warm permission decisions against pycasbin; on SQLite, once), sharing (a list
query under record-level sharing against the admin's), queue (job throughput of two worker
processes; what an enqueue adds to a record write), workflows (creates with a before-save workflow
against the same object without one), reports (a summary report and a 6-component dashboard on the
big object against hand-written GROUP BYs), reports_sharing (that report as a rep and a manager
against the admin), import (the import wizard's job path against `tessera import`'s), timeline (a
record's timeline first page with 10,000 activities against a plain list query), stock (lists and
GETs of the stock opportunity, formulas and roll-up included, against its stored fields alone), search
(full-text search and suggestions against a LIKE scan), duplicates (creating a stock contact with
the Sales app's duplicate rule active against without it, `--dup-rows` contacts), deploy (a deploy of
200 components from a sandbox database against `apply` of the same org layer), conversion (converting a
lead into account, contact and opportunity against the same writes one by one).
Every database gets fresh, isolated storage (a temporary SQLite file; a PostgreSQL schema
of its own, created in the URL's database — created when missing — and dropped afterwards).
Prints one table: figure, target, PASS/MISS. Exit status 1 when a target was missed.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402  (sets up the import path for `tessera`)
from common import Result, isolated_database, open_org, print_table  # noqa: E402

ALL = ("runtime", "http", "server", "bulk", "query", "add_field", "reports", "decisions", "sharing", "reports_sharing",
       "queue", "workflows", "webhooks", "import", "timeline", "stock", "search",
       "duplicates", "deploy", "conversion")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", action="append", metavar="URL",
                   help="database URL; repeat for several ('sqlite' = a temporary SQLite file, the default)")
    p.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of: {', '.join(ALL)}")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the big object (query, add_field)")
    p.add_argument("--bulk-rows", type=int, default=20_000, help="rows per bulk_create batch")
    p.add_argument("--import-rows", type=int, default=20_000, help="rows per imported file (import)")
    p.add_argument("--import-rounds", type=int, default=3, help="rounds per path (import)")
    p.add_argument("--requests", type=int, default=4_000, help="requests per operation and app (in-process)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved chunks per operation and app (in-process)")
    p.add_argument("--bulk-rounds", type=int, default=3, help="alternating batches per path (bulk)")
    p.add_argument("--seconds", type=int, default=3, help="duration of one load run (server)")
    p.add_argument("--server-rounds", type=int, default=3, help="alternating load runs per app and operation (server)")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (server)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (server)")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (server)")
    p.add_argument("--iterations", type=int, default=200, help="timed queries (query, stock)")
    p.add_argument("--stock-rows", type=int, default=100_000, help="stock opportunities (stock)")
    p.add_argument("--repeat-runtime", type=int, default=10, help="Runtime compilations (runtime)")
    p.add_argument("--decisions", type=int, default=200_000, help="timed Tessera decisions per round (decisions)")
    p.add_argument("--sharing-rows", type=int, default=100_000, help="rows of the shared object (sharing)")
    p.add_argument("--sharing-rounds", type=int, default=4, help="interleaved rounds per actor (sharing)")
    p.add_argument("--queue-jobs", type=int, default=3_000, help="jobs per round (queue)")
    p.add_argument("--queue-rounds", type=int, default=3, help="rounds (queue)")
    p.add_argument("--enqueue-ops", type=int, default=300, help="writes per path and round (queue: enqueue cost)")
    p.add_argument("--webhook-deliveries", type=int, default=1_000, help="deliveries per round (webhooks)")
    p.add_argument("--webhook-rounds", type=int, default=3, help="rounds (webhooks)")
    p.add_argument("--timeline-activities", type=int, default=10_000, help="activities of the record (timeline)")
    p.add_argument("--timeline-iterations", type=int, default=200, help="timed first pages (timeline)")
    p.add_argument("--dup-rows", type=int, default=1_000_000, help="contacts compared (duplicates)")
    p.add_argument("--dup-iterations", type=int, default=300, help="timed creates per path (duplicates)")
    p.add_argument("--enqueue-rounds", type=int, default=5, help="interleaved rounds (queue: enqueue cost)")
    p.add_argument("--deploy-rounds", type=int, default=3, help="rounds per path (deploy)")
    p.add_argument("--conversion-leads", type=int, default=100_000, help="leads in the org (conversion)")
    p.add_argument("--conversion-iterations", type=int, default=200, help="timed conversions per path (conversion)")
    args = p.parse_args(argv)
    args.only = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(args.only) - set(ALL))
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(unknown)} (choose from {', '.join(ALL)})")
    args.database = [None if d in (None, "sqlite") else d for d in (args.database or [None])]
    return args


def run_database(url, args) -> list[Result]:
    results: list[Result] = []
    name = "sqlite" if url is None or url.startswith("sqlite") else "postgresql"
    small = [b for b in ("http", "server", "bulk", "import") if b in args.only]
    if small:
        import bench_bulk
        import bench_http

        with isolated_database(url, "small") as db_url:
            log(f"[{name}] setting up (core + bench package, 1,000 records)")
            org = open_org(db_url)
            try:
                accounts, ids = bench_http.prepare(org)
                if "http" in args.only:
                    log(f"[{name}] 1a: GET/POST/PATCH in process")
                    results += bench_http.run_inprocess(org, accounts, ids, args)
                if "server" in args.only:
                    log(f"[{name}] 1b: GET/POST/PATCH through gunicorn")
                    results += bench_http.run_server(org, accounts, ids, args)
                if "bulk" in args.only:
                    log(f"[{name}] 2: bulk create")
                    results += bench_bulk.run(org, accounts, args)
                if "import" in args.only:
                    import bench_import
                    log(f"[{name}] 10: import, the wizard's path vs tessera import's")
                    results += bench_import.run(org, accounts, args)
            finally:
                org.services.engine.dispose()
    big = [b for b in ("query", "add_field", "reports", "search") if b in args.only]
    if big:
        import bench_big

        with isolated_database(url, "big") as db_url:
            log(f"[{name}] setting up {args.rows:,} rows")
            org = open_org(db_url)
            try:
                bench_big.prepare(org, args, log)
                if "query" in args.only:
                    log(f"[{name}] 3: list query")
                    results += bench_big.run_query(org, args)
                if "reports" in args.only:   # before add_field changes the object
                    import bench_reports
                    log(f"[{name}] 10: reports and a dashboard")
                    results += bench_reports.run(org, args)
                if "search" in args.only:   # before add_field changes the object
                    import bench_search
                    log(f"[{name}] 12: global search and suggestions")
                    results += bench_search.run(org, args)
                if "add_field" in args.only:
                    log(f"[{name}] 4: add a nullable field")
                    results += bench_big.run_add_field(org, args)
            finally:
                org.services.engine.dispose()
    if "workflows" in args.only:
        import bench_workflows

        with isolated_database(url, "workflows") as db_url:
            log(f"[{name}] 8: creates with and without a before-save workflow")
            org = open_org(db_url)
            try:
                results += bench_workflows.run(org, args)
            finally:
                org.services.engine.dispose()
    if "sharing" in args.only or "reports_sharing" in args.only:
        import bench_security

        with isolated_database(url, "sharing") as db_url:
            log(f"[{name}] setting up {args.sharing_rows:,} shared rows")
            org = bench_security.open_sharing_org(db_url)
            try:
                people = bench_security.prepare_sharing(org, args, log)
                if "sharing" in args.only:
                    log(f"[{name}] 7: list query under sharing")
                    results += bench_security.run_sharing(org, people, args)
                if "reports_sharing" in args.only:
                    import bench_reports
                    log(f"[{name}] 11: a report under sharing")
                    results += bench_reports.run_sharing(org, args)
            finally:
                org.services.engine.dispose()
    if "stock" in args.only:
        import bench_stock

        with isolated_database(url, "stock") as db_url:
            log(f"[{name}] setting up {args.stock_rows:,} stock opportunities")
            org = open_org(db_url, extra_packages=bench_stock.STOCK_SALES)
            try:
                ids = bench_stock.prepare(org, args, log)
                log(f"[{name}] 13: stock opportunity list and GET")
                results += bench_stock.run(org, ids, args)
            finally:
                org.services.engine.dispose()
    if "queue" in args.only:
        import bench_queue

        results += bench_queue.run(url, args, log)
    if "webhooks" in args.only:
        import bench_webhooks

        results += bench_webhooks.run(url, args, log)
    if "timeline" in args.only:
        import bench_timeline

        with isolated_database(url, "timeline") as db_url:
            log(f"[{name}] 12: a record's timeline (core + sales, {args.timeline_activities:,} activities)")
            org = open_org(db_url, extra_packages=common.STOCK[1:2])
            try:
                results += bench_timeline.run(org, args, log)
            finally:
                org.services.engine.dispose()
    if "duplicates" in args.only:
        import bench_duplicates

        with isolated_database(url, "duplicates") as db_url:
            log(f"[{name}] 15: creates with and without a duplicate rule ({args.dup_rows:,} contacts)")
            org = open_org(db_url, extra_packages=common.STOCK[1:2])
            try:
                results += bench_duplicates.run(org, args, log)
            finally:
                org.services.engine.dispose()
    if "conversion" in args.only:
        import bench_conversion

        with isolated_database(url, "conversion") as db_url:
            log(f"[{name}] 17: converting a lead ({args.conversion_leads:,} leads)")
            org = open_org(db_url, extra_packages=common.STOCK[1:3])
            try:
                results += bench_conversion.run(org, args, log)
            finally:
                org.services.engine.dispose()
    if "deploy" in args.only:
        import bench_deploy

        log(f"[{name}] 16: a deploy of 200 components against applying the same org layer")
        results += bench_deploy.run(url, args, log)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    load_at_start = "/".join(f"{x:.1f}" for x in os.getloadavg())
    results: list[Result] = []
    if "runtime" in args.only:
        import bench_runtime

        log("5: Runtime compile")
        results += bench_runtime.run(args)
    if "decisions" in args.only:
        import bench_security

        log("6: warm permission decisions (core + 3 apps)")
        with isolated_database(None, "decisions") as db_url:
            org = open_org(db_url, extra_packages=common.STOCK[1:])
            try:
                results += bench_security.run_decisions(org, args)
            finally:
                org.services.engine.dispose()
    for url in args.database:
        results += run_database(url, args)
    print_table(results)
    import tessera

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n({time.perf_counter() - started:.0f} s; python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average "
          f"{load_at_start} at start, {load} at end; tessera from {Path(tessera.__file__).parent})")
    return 1 if any(r.passed is False for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
