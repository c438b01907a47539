"""How long an order import keeps every other SQLite writer waiting: an import of a generated export runs in a child
process while this process makes one small write (an INSERT in its own IMMEDIATE transaction, as the app's
writes begin) every 100 ms, and records how long each one waited for the write lock.

    GUANXI_HOME=/tmp/gx-lock .venv/bin/python benchmarks/import_lock.py --orders 300000 [--format taobao]

The app's SQLite connections give up after 10 s (`busy_timeout` in guanxi/settings.py), which a request answers
with HTTP 500; this probe waits up to --give-up seconds (default 120) so the whole hold is seen. Prints the
longest wait (≈ the import's longest hold of the write lock), the percentiles over the writes due while the import
ran, and how many waited more than 1 s and more than 10 s, then JSON; writes
benchmarks/results/import_lock.json. SQLite only: on PostgreSQL an import blocks no other writer (row locks).
The export is made by benchmarks/import_orders.py's generator (one customer per 10 orders) into --dir.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import ROOT, database, machine, setup_django

PROBE_TABLE = "bench_lock_probe"


def child_import(path: Path, fmt: str) -> dict:
    """The import as the CLI runs it (recorded; on SQLite staged in slices), into a new workspace and store.
    "published": when the import became visible (its job's finished_at, stamped in that transaction); the
    analytics and segment refresh it queues runs after it, in this process, until "finished"."""
    setup_django(migrate=False)
    from guanxi.imports.undo import orders_import_recorded
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.services import store_create, workspace_create

    slug = f"lock-{fmt}-{int(time.time())}"
    workspace = workspace_create(slug=slug, name=slug)
    store = store_create(workspace=workspace, name=f"{fmt} lock bench",
                         platform="taobao" if fmt == "taobao" else "own_site")
    started = time.time()
    with tenancy.active(workspace):
        job, result = orders_import_recorded(workspace=workspace, store=store, path=path, fmt=fmt)
    finished = time.time()
    published = job.finished_at.timestamp() if job.finished_at else finished
    return {"started": started, "published": min(published, finished), "finished": finished,
            "orders_created": result.orders_created}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def probe_writes(db_path: str, stop: threading.Event, *, interval: float, give_up: float) -> list[tuple]:
    """A small write due every `interval` seconds until `stop`; returns (wall time due, seconds from due to
    committed, ok) for each due time. One connection writes, so a write that waits holds up the ones due after
    it; each of those is counted as waiting until that write got through, as concurrent requests would."""
    connection = sqlite3.connect(db_path, timeout=give_up, isolation_level=None)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
    samples = []
    wall_offset = time.time() - time.monotonic()
    due = time.monotonic()
    while not stop.is_set():
        time.sleep(max(0.0, due - time.monotonic()))
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(f"INSERT INTO {PROBE_TABLE} (at) VALUES (?)", [time.time()])
            connection.execute("COMMIT")
            ok = True
        except sqlite3.OperationalError:  # waited `give_up` seconds
            ok = False
        done = time.monotonic()
        while due <= done:
            samples.append((due + wall_offset, done - due, ok))
            due += interval
    connection.close()
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--format", default="taobao", choices=("taobao", "generic"))
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between probe writes (default 0.1)")
    parser.add_argument("--give-up", type=float, default=120.0, help="longest a probe write waits (seconds)")
    parser.add_argument("--dir", default="")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_import(Path(args.child[0]), args.child[1])))
        return 0

    setup_django(migrate=True)
    from django.conf import settings
    from django.db import connection

    from import_orders import generate

    if connection.vendor != "sqlite":
        print("SQLite only: PostgreSQL imports take row locks, not the database's one write lock", file=sys.stderr)
        return 2
    folder = Path(args.dir or settings.GUANXI_HOME / "bench-imports")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{args.format}_{args.orders}.csv"
    if not path.exists():
        generate(path, args.format, args.orders, 10)
    db_path = str(settings.DATABASES["default"]["NAME"])
    connection.close()

    stop = threading.Event()
    samples: list[tuple] = []
    prober = threading.Thread(target=lambda: samples.extend(
        probe_writes(db_path, stop, interval=args.interval, give_up=args.give_up)))
    prober.start()
    time.sleep(1.0)  # a second of writes with no import: the baseline
    child = subprocess.run([sys.executable, __file__, "--child", str(path), args.format], capture_output=True,
                           text=True, cwd=ROOT)
    time.sleep(1.0)
    stop.set()
    prober.join()
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return 1
    imported = json.loads(child.stdout.strip().splitlines()[-1])
    published = imported.get("published", imported["finished"])
    during = [wait for at, wait, _ok in samples if imported["started"] <= at <= published]
    after = [wait for at, wait, _ok in samples if published < at <= imported["finished"]]
    waits = [wait for _at, wait, _ok in samples]
    report = {
        "date": dt.date.today().isoformat(), "machine": machine(), "database": database(),
        "orders": args.orders, "format": args.format, "interval_s": args.interval,
        "import_s": round(published - imported["started"], 2),
        "refresh_after_s": round(imported["finished"] - published, 2),
        "longest_wait_import_s": round(max(during, default=0.0), 3),
        # Writes that got through before the publish: waits for the import's slices alone.
        "longest_wait_slices_s": round(max((wait for at, wait, _ok in samples
                                            if imported["started"] <= at and at + wait < published), default=0.0), 3),
        "longest_wait_refresh_s": round(max(after, default=0.0), 3),
        "orders_created": imported["orders_created"], "writes": len(samples), "writes_during_import": len(during),
        "longest_wait_s": round(max(waits, default=0.0), 3), "p99_wait_s": round(_percentile(during, 0.99), 3),
        "p50_wait_s": round(_percentile(during, 0.5), 4),
        "waits_over_1s": sum(1 for wait in during if wait > 1),
        "waits_over_10s": sum(1 for wait in during if wait > 10),
        "gave_up": sum(1 for *_rest, ok in samples if not ok),
    }
    print(f"{report['date']} · {report['machine']} · {report['database']}")
    print(f"{args.format} import of {args.orders:,} orders: {report['import_s']} s; {report['writes']} probe writes "
          f"({report['writes_during_import']} during the import), one every {args.interval} s")
    print(f"longest wait {report['longest_wait_s']} s; while the import ran: p99 {report['p99_wait_s']} s, p50 "
          f"{report['p50_wait_s']} s, {report['waits_over_1s']} waited > 1 s, {report['waits_over_10s']} > 10 s (the "
          f"app's busy timeout: HTTP 500); {report['gave_up']} gave up after {args.give_up} s")
    print(f"longest wait during the import (until it was published) {report['longest_wait_import_s']} s, of those "
          f"through before the publish {report['longest_wait_slices_s']} s; during the "
          f"analytics and segment refresh after it ({report['refresh_after_s']} s) "
          f"{report['longest_wait_refresh_s']} s")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "import_lock.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
