"""Response times and SQL queries of the pages staff use in chat, on a generated database.

    GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/gx-bench \\
        .venv/bin/python benchmarks/web.py

Signs in as the demo owner (run benchmarks/generate.py first) and requests, through Django's test Client in this
process (no network, no web server: the figures are the application's own time), `--requests` times each:
the customer 360 page `/customers/<id>/`, and the customer search `/customers/?q=` with the last 4 digits of a
phone, a Chinese name, and an order number. Customers, phones, names and orders are drawn at random (fixed seed)
from the generated Taobao-style store. Prints p50/p95/max in milliseconds and the SQL queries per page.
"""

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time

from _setup import database, machine, setup_django


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sample(model, count: int, rng: random.Random, fields: tuple[str, ...], **filters) -> list[tuple]:
    """`count` random rows (with repeats possible) by probing random ids: cheap on tables of millions."""
    from django.db.models import Max, Min

    rows = model.objects.filter(**filters)
    bounds = rows.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return []
    found = []
    for _ in range(count):
        probe = rng.randint(bounds["low"], bounds["high"])
        row = rows.filter(id__gte=probe).order_by("id").values_list(*fields).first()
        found.append(row)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per page (default 200)")
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--username", default="demo")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    setup_django(migrate=False)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from guanxi.commerce.models import Order
    from guanxi.customers.models import Customer, Identity
    from guanxi.demo.taobao import DEFAULT_STORE_NAME
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Store, Workspace

    workspace = Workspace.objects.get(slug=args.workspace)
    user = get_user_model().objects.get(username=args.username)
    rng = random.Random(args.seed)
    n = args.requests
    with tenancy.active(workspace):
        store = Store.objects.get(name=DEFAULT_STORE_NAME)
        scale = {"customers": Customer.objects.count(), "orders": Order.objects.count()}
        orders = sample(Order, n, rng, ("customer_id", "number"), store=store)
        names = [name for (name,) in (Customer.objects.filter(pk=c).values_list("name").first()
                                     for c, _ in orders[:n])]
        tails = [tail for (tail,) in sample(Identity, n, rng, ("tail",), kind="phone")]
    pages = {
        "customer 360 /customers/<id>/": [f"/customers/{customer}/" for customer, _ in orders],
        "search: last 4 phone digits": [f"/customers/?q={tail}" for tail in tails],
        "search: Chinese name": [f"/customers/?q={name}" for name in names],
        "search: order number": [f"/customers/?q={number}" for _, number in orders],
    }

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(user)
    print(f"date:     {dt.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine:  {machine()}")
    print(f"database: {database()}")
    print(f"data:     {scale['customers']:,} customers, {scale['orders']:,} orders in workspace {workspace.slug}")
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>9}")
    results = {}
    for page, urls in pages.items():
        for url in urls[:5]:  # warm up: templates, caches, the connection
            assert client.get(url).status_code == 200, url
        times, queries = [], []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                begin = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - begin) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            queries.append(len(captured))
        results[page] = {
            "requests": len(times), "p50_ms": round(percentile(times, 0.5), 1),
            "p95_ms": round(percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
            "mean_ms": round(statistics.fmean(times), 1), "queries_min": min(queries),
            "queries_max": max(queries),
        }
        r = results[page]
        span = f"{r['queries_min']}" if r["queries_min"] == r["queries_max"] else \
            f"{r['queries_min']}-{r['queries_max']}"
        print(f"{page:34} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f} {span:>9}", flush=True)
    print(json.dumps({"scale": scale, "pages": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
