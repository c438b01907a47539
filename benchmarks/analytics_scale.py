"""How long the pure analytics part of a full refresh takes at the issue's scale target.

    python benchmarks/analytics_scale.py [--customers 1000000] [--seed 1]

Generates a shop (seeded, Pareto/NBD-like: each customer buys at their own rate until they drop out; order values
vary per customer) of ``--customers`` customers with about ten paid orders each over three years, then times
`guanxi.analytics.customer_insight` — RFM, value ranking, lifecycle, BG/NBD, Pareto/NBD, Gamma-Gamma, the
buy-again model and every per-customer prediction — and prints each stage and the peak memory of the process.
Loading from and writing back to the database are the Django side's and are not included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from guanxi.analytics import customer_insight  # noqa: E402

DAYS = 3 * 365
START = dt.date(2023, 1, 1)


def synthetic_orders(customers: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.integers(0, DAYS, customers)
    rate = rng.gamma(0.8, 1 / 25, customers)  # purchases per day while alive
    lifetime = rng.exponential(1 / rng.gamma(0.6, 1 / 120, customers))  # days until dropout
    active_days = np.minimum(lifetime, DAYS - first)
    repeats = rng.poisson(rate * active_days)
    counts = 1 + repeats
    owner = np.repeat(np.arange(customers), counts)
    offset_in = rng.random(owner.size) * np.repeat(active_days, counts)
    first_of_each = np.r_[0, np.cumsum(counts)[:-1]]
    offset_in[first_of_each] = 0.0  # each customer's first order is on their first day
    day = np.repeat(first, counts) + offset_in.astype(np.int64)
    spend = np.repeat(rng.gamma(4.0, 25.0, customers), counts) * rng.gamma(6.0, 1 / 6.0, owner.size)
    return pl.DataFrame(
        {
            "customer_id": owner,
            "date": pl.Series(day + (START - dt.date(1970, 1, 1)).days, dtype=pl.Int32).cast(pl.Date),
            "amount": np.round(spend, 2),
            "cost": np.round(spend * 0.6, 2),
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    orders = synthetic_orders(args.customers, args.seed)
    print(f"generated {orders.height:,} orders of {args.customers:,} customers in {time.perf_counter() - started:.1f} s")
    as_of = START + dt.timedelta(days=DAYS)
    started = time.perf_counter()
    result = customer_insight(orders, as_of=as_of)
    total = time.perf_counter() - started
    for stage, seconds in result.seconds.items():
        print(f"  {stage:12s} {seconds:7.2f} s")
    print(f"customer_insight total {total:.1f} s on {os.cpu_count()} cores; "
          f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")  # fmt: skip
    summary = result.summary()
    print(f"models fitted on {min(args.customers, 100_000):,} customers: "
          f"{', '.join(k for k, v in summary['models'].items() if v)}; errors: {summary['model_errors'] or 'none'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
