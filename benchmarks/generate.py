"""Generate the demo workspace with N customers / M orders into the configured database; print the figures.

    GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/gx-bench \\
        .venv/bin/python benchmarks/generate.py --customers 1000000 --orders 10000000

Runs `build_demo` (workspace `demo`, its users, the CDNOW store, then the generated Taobao-style store), so
benchmarks/web.py can sign in as the demo owner afterwards. The figures cover the generated store: wall time,
orders per second, and the peak resident memory of this process (the database server's memory is not included).
A store that already has orders is not generated again: use a fresh database.
"""

import argparse
import datetime as dt
import json
import resource
import sys
import time

from _setup import database, machine, setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    setup_django()
    from guanxi.demo import build_demo

    print(f"date:     {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine:  {machine()}")
    print(f"database: {database()}", flush=True)
    started = time.perf_counter()
    login = build_demo(customers=args.customers, orders=args.orders, seed=args.seed,
                       progress=not args.no_progress and sys.stderr.isatty())
    figures = {
        "workspace": login.workspace.slug,
        "total_seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cdnow": {"orders_created": login.cdnow.orders_created, "seconds": round(login.cdnow.seconds, 1)},
    }
    if login.taobao is None:
        figures["taobao"] = "already generated, nothing done: use a fresh database to measure"
    else:
        t = login.taobao
        figures["taobao"] = {
            "store": t.store.name, "customers": t.customers, "orders": t.orders, "order_lines": t.order_lines,
            "shipments": t.shipments, "interactions": t.interactions, "tasks": t.tasks,
            "seconds": round(t.seconds, 1), "orders_per_second": round(t.orders_per_second),
        }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
