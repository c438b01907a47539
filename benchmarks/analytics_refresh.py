"""A full analytics refresh of one workspace on the configured database: load, score, dashboard figures, write.

    GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/gx-bench \\
        .venv/bin/python benchmarks/analytics_refresh.py [--workspace demo] [--as-of 2026-12-01] [--with-segments]

Runs `guanxi.insight.services.insight_refresh` once (the same call as `guanxi analytics refresh` and the nightly
job) and prints the seconds of each phase — reading the paid orders and lines, `customer_insight` (RFM, value,
lifecycle, BG/NBD, Pareto/NBD, Gamma-Gamma, buy-again, predictions), the dashboard figures, writing the scores
and snapshot — the wall time, and the peak resident memory of this process. The refresh of saved segments that
follows in the product is left out unless ``--with-segments`` (it is measured by benchmarks/segments.py).
Only the insight app's migrations are applied, so a benchmark database is not changed otherwise.
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
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="default: today in the workspace time zone")
    parser.add_argument("--with-segments", action="store_true", help="also refresh the saved segments")
    args = parser.parse_args()

    setup_django(migrate=False)
    from django.core.management import call_command

    call_command("migrate", "insight", verbosity=0)
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Customer
    from guanxi.insight.services import insight_refresh
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug=args.workspace)
    print(f"date:     {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine:  {machine()}")
    print(f"database: {database()}", flush=True)
    with tenancy.active(workspace):
        size = {"customers": Customer.objects.count(), "orders": Order.objects.count()}
        print(f"workspace {workspace.slug}: {size['customers']:,} customers, {size['orders']:,} orders", flush=True)
        started = time.perf_counter()
        run = insight_refresh(as_of=args.as_of, segments=args.with_segments)
        wall = time.perf_counter() - started
    summary = run.summary
    figures = {
        **size,
        "wall_seconds": round(wall, 1),
        "phases_seconds": summary["refresh_seconds"],
        "scoring_seconds": summary["seconds"],  # within "score": each stage of customer_insight
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "predictions_model": summary.get("predictions_model"),
        "model_errors": summary.get("model_errors"),
        "models": {name: (model or {}).get("params") for name, model in summary["models"].items()},
    }
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
