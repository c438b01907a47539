"""Segments at scale: live preview counts of 20 realistic rules, and refreshing 30 saved segments.

    GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_bench GUANXI_HOME=/tmp/gx-bench \\
        .venv/bin/python benchmarks/segments.py [--workspace demo] [--repeat 5]

Needs a generated workspace (benchmarks/generate.py; the issue's target is 1,000,000 customers / 10,000,000 orders
on PostgreSQL). Steps, each timed:

1. rebuild what rules read (`facts_rebuild`: CustomerFacts — order figures and a copy of the scores — and
   CustomerStore, one INSERT … SELECT each, and the purchases of changed orders) — what runs after an import.
   The first rebuild copies every paid order line into CustomerPurchase; then the newest `--touch` orders
   (default 100,000, 1 %) are stamped as changed, as an import updating them would, and the rebuild is timed
   again;
2. when the workspace has no analytics scores yet, derive them here from the order figures (RFM quintiles, the
   11-segment map and 8 value classes, a recency-based P(alive), CLV, churn bands) so that score rules have
   realistic selectivity — said so in the output — and rebuild once more to copy them; with scores present
   they are used as they are;
3. preview: each of 20 rules mixing profile, behaviour and scores is counted once to warm the cache, then
   `--repeat` times; p50/p95/max over all those counts (the exact COUNT the builder shows, `compile_matches`:
   on CustomerFacts alone where the rule allows it), and the time of the 10-customer sample query. With
   `--compare-general` each count alternates with one of the general query (`compile_rules`: customers joined
   to their facts), under the same load, and both figures are printed;
4. 30 saved segments (the 25 built-in + 5 of the rules) refreshed twice: the first refresh puts every member in,
   the second (a day later) writes only who entered and left — each segment in its own transaction.

Prints JSON (machine, database, sizes, every figure) and writes it to benchmarks/results/segments.json.
Writes segments, facts, `updated_at` of the touched orders and (only when there were none) scores into the
workspace: use a benchmark database. Autovacuum being off on the benchmark machine, run `VACUUM ANALYZE` after
the first rebuild (index-only scans need the visibility map), as autovacuum would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time

from _setup import ROOT, database, machine, setup_django

RULES: list[tuple[str, dict]] = [
    ("champions", {"all": [{"field": "rfm_segment", "op": "=", "value": "champions"}]}),
    ("at risk big spenders", {"all": [{"field": "rfm_segment", "op": "in", "value": ["at_risk", "cant_lose_them"]},
                                      {"field": "total_paid", "op": ">", "value": 1000}]}),
    ("Zhejiang, bought in 90 days", {"all": [{"field": "province", "op": "=", "value": "浙江省"},
                                             {"field": "days_since_last_order", "op": "<=", "value": 90}]}),
    ("high value tag, high churn", {"all": [{"field": "tags", "op": "=", "value": "高价值"},
                                            {"field": "churn_risk", "op": "=", "value": "high"}]}),
    ("womenswear in 30 days", {"all": [{"field": "bought_category", "op": "=", "value": "女装", "days": 30}]}),
    ("repeat buyers, active half-year", {"all": [{"field": "paid_orders_count", "op": ">=", "value": 3},
                                                 {"field": "last_order_at", "op": "within_last_days", "value": 180}]}),
    ("important to keep", {"all": [{"field": "value_class", "op": "=", "value": "important_keep"}]}),
    ("high value at risk", {"all": [{"field": "clv_top_percent", "op": "<=", "value": 10},
                                    {"field": "churn_risk", "op": "=", "value": "high"}]}),
    ("Hangzhou/Ningbo mid spenders", {"all": [{"field": "city", "op": "in", "value": ["杭州市", "宁波市"]},
                                              {"field": "total_paid", "op": "between", "value": [200, 2000]}]}),
    ("June birthdays, SMS ok", {"all": [{"field": "gender", "op": "=", "value": "female"},
                                        {"field": "birthday_month", "op": "=", "value": 6},
                                        {"field": "consent.sms", "op": "=", "value": True}]}),
    ("new this month", {"all": [{"field": "first_order_at", "op": "within_last_days", "value": 30}]}),
    ("one-time, lapsed", {"all": [{"field": "orders_count", "op": "=", "value": 1},
                                  {"field": "days_since_last_order", "op": ">", "value": 365}]}),
    ("couples who bought a dress", {"all": [{"field": "tags", "op": "=", "value": "情侣"},
                                            {"field": "bought_sku", "op": "in", "value": ["TB-W001", "TB-W002"],
                                             "days": 365}]}),
    ("RF top or big total", {"any": [{"all": [{"field": "rfm_r", "op": ">=", "value": 4},
                                              {"field": "rfm_f", "op": ">=", "value": 4}]},
                                     {"field": "total_paid", "op": ">", "value": 5000}]}),
    ("refund-prone", {"all": [{"field": "refunds_count", "op": ">=", "value": 2}]}),
    ("mature, big baskets", {"all": [{"field": "average_order_value", "op": ">", "value": 500},
                                     {"field": "lifecycle_stage", "op": "=", "value": "mature"}]}),
    ("flagship store, no bad-review risk", {"all": [{"field": "store", "op": "=", "value": "淘宝旗舰店"},
                                                    {"field": "tags", "op": "not_in", "value": ["差评风险"]}]}),
    ("fading but valuable", {"all": [{"field": "p_alive", "op": "<", "value": 0.3},
                                     {"field": "net_paid", "op": ">", "value": 500}]}),
    ("tier A without owner", {"all": [{"field": "owner", "op": "is_not_set"},
                                      {"field": "value_tier", "op": "=", "value": "A"}]}),
    ("surname 王 in Guangdong", {"all": [{"field": "name", "op": "contains", "value": "王"},
                                        {"field": "province", "op": "=", "value": "广东省"}]}),
]
SAVED_FROM_RULES = 5  # with the 25 built-in segments: 30 saved segments


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def derive_scores(workspace) -> dict:
    """Scores from the order figures, for benchmarking rules when no analytics refresh has run (see docstring)."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from guanxi.analytics.rfm import RFM_GRID, VALUE_CLASS_BY_RFM
    from guanxi.insight.models import CustomerScore
    from guanxi.segments.models import CustomerFacts

    started = time.perf_counter()
    now = timezone.now()
    rows = list(CustomerFacts.objects.filter(paid_orders_count__gt=0).values_list(
        "customer_id", "last_order_at", "paid_orders_count", "total_paid", "net_paid").iterator(chunk_size=50_000))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    recency = np.array([(now - r[1]).days for r in rows], dtype=np.float64)
    frequency = np.array([r[2] for r in rows], dtype=np.float64)
    monetary = np.array([float(r[4]) for r in rows], dtype=np.float64)

    def quintile(values, reverse=False):
        ranks = values.argsort(kind="stable").argsort(kind="stable")
        score = 1 + (ranks * 5 // len(values))
        return 6 - score if reverse else score

    r, f, m = quintile(recency, reverse=True), quintile(frequency), quintile(monetary)
    fm = np.clip(np.rint((f + m) / 2).astype(int), 1, 5)
    segment = np.array([RFM_GRID[ri - 1][fi - 1] for ri, fi in zip(r, fm)])
    value_class = np.array([VALUE_CLASS_BY_RFM[(bool(a), bool(b), bool(c))] for a, b, c in zip(
        recency < recency.mean(), frequency > frequency.mean(), monetary > monetary.mean())])
    p_alive = np.exp(-recency / 180.0)
    clv = np.round(monetary * p_alive * 1.5, 2)
    churn = np.where(1 - p_alive >= 0.8, "high", np.where(1 - p_alive >= 0.5, "medium", "low"))
    order = (-monetary).argsort()
    tier = np.empty(len(ids), dtype=object)
    cumulative = np.cumsum(monetary[order]) / max(monetary.sum(), 1)
    tier[order] = np.where(cumulative <= 0.8, "A", np.where(cumulative <= 0.95, "B", "C"))
    lifecycle = np.where(recency > 365, "terminating", np.where(frequency >= 5, "mature",
                                                                np.where(frequency >= 2, "growing", "developing")))
    table = CustomerScore._meta.db_table
    columns = ("workspace_id", "created_at", "updated_at", "customer_id", "as_of", "recency_days", "frequency",
               "monetary", "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "value_class", "value_tier", "gross_profit",
               "lifecycle_stage", "p_alive", "clv", "churn_risk")
    with transaction.atomic():
        CustomerScore.objects.all().delete()
        with connection.cursor() as cursor:
            raw = cursor.cursor
            if connection.vendor == "postgresql":
                with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for i in range(len(ids)):
                        copy.write_row((workspace.pk, now, now, int(ids[i]), now, int(recency[i]), int(frequency[i]),
                                        monetary[i], int(r[i]), int(f[i]), int(m[i]), segment[i], value_class[i],
                                        tier[i], monetary[i] * 0.3, lifecycle[i], float(p_alive[i]), clv[i],
                                        churn[i]))
            else:
                placeholders = ", ".join(["?"] * len(columns))
                stamp = now.isoformat()
                raw.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", (
                    (workspace.pk, stamp, stamp, int(ids[i]), stamp, int(recency[i]), int(frequency[i]),
                     float(monetary[i]), int(r[i]), int(f[i]), int(m[i]), str(segment[i]), str(value_class[i]),
                     str(tier[i]), float(monetary[i] * 0.3), str(lifecycle[i]), float(p_alive[i]), float(clv[i]),
                     str(churn[i])) for i in range(len(ids))))
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {table}")
    return {"derived_for_customers": len(ids), "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", default="demo")
    parser.add_argument("--repeat", type=int, default=5, help="timed counts per rule (after one warm-up)")
    parser.add_argument("--skip-facts", action="store_true", help="reuse the order figures already built")
    parser.add_argument("--skip-refresh", action="store_true", help="time the preview counts only")
    parser.add_argument("--compare-general", action="store_true",
                        help="also time the general query (customers joined to facts), alternating with each count")
    parser.add_argument("--touch", type=int, default=100_000,
                        help="orders stamped as changed before the second, incremental rebuild (0: no second one)")
    args = parser.parse_args()

    setup_django()
    from django.db import connection
    from django.utils import timezone

    from guanxi.customers.models import Customer
    from guanxi.insight.models import CustomerScore
    from guanxi.segments.facts import facts_rebuild
    from guanxi.segments.models import Segment
    from guanxi.segments.rules import compile_matches, compile_rules, facts_only, parse_rules
    from guanxi.segments.selectors import segment_preview
    from guanxi.segments.services import segment_create, segment_refresh, segments_ensure_builtin
    from guanxi.segments.sql import counting
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Workspace
    from guanxi.commerce.models import Order

    workspace = Workspace.objects.get(slug=args.workspace)
    figures: dict = {"date": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine(),
                     "database": database(), "load_average": {"start": _load()}}
    print(f"machine:  {figures['machine']}\ndatabase: {figures['database']}", flush=True)
    with tenancy.active(workspace):
        figures["customers"] = Customer.objects.count()
        figures["orders"] = Order.objects.count()
        print(f"workspace {workspace.slug}: {figures['customers']:,} customers, {figures['orders']:,} orders",
              flush=True)
        if not args.skip_facts:
            figures["facts_rebuild"] = facts_rebuild()
            print(f"facts rebuilt: {figures['facts_rebuild']}", flush=True)
            if args.touch:
                # The newest orders, as an import bringing their new statuses would stamp them.
                touched = Order.objects.order_by("-pk").values("pk")[:args.touch]
                Order.objects.filter(pk__in=touched).update(updated_at=timezone.now())
                figures["facts_rebuild_after_touch"] = {"orders_touched": args.touch, **facts_rebuild()}
                print(f"facts rebuilt after {args.touch:,} orders changed: {figures['facts_rebuild_after_touch']}",
                      flush=True)
        if CustomerScore.objects.count() < figures["customers"] // 2:
            figures["scores"] = {"source": "derived by this benchmark from order figures", **derive_scores(workspace)}
            figures["facts_rebuild_with_scores"] = facts_rebuild()
            print(f"facts rebuilt with the derived scores: {figures['facts_rebuild_with_scores']}", flush=True)
        elif CustomerScore.objects.filter(run__isnull=False).exists():
            figures["scores"] = {"source": "analytics refresh", "rows": CustomerScore.objects.count()}
        else:  # rows without a run are the ones derive_scores wrote on an earlier run
            figures["scores"] = {"source": "derived by an earlier run of this benchmark",
                                 "rows": CustomerScore.objects.count()}
        print(f"scores: {figures['scores']}", flush=True)

        # 3. Preview counts.
        as_of = timezone.now()
        per_rule, all_times, times_by_rule, general_times = [], [], {}, []

        def timed_count(compile_) -> tuple[int, float]:
            # What the preview does for its count: compile, then count with the planner settings it uses.
            started = time.perf_counter()
            with counting():
                n = compile_(rules, as_of=as_of).count()
            return n, (time.perf_counter() - started) * 1000

        for name, rules in RULES:
            count, _ms = timed_count(compile_matches)  # warm-up
            if args.compare_general:
                assert timed_count(compile_rules)[0] == count, name
            times, general = [], []
            for _ in range(args.repeat):
                n, ms = timed_count(compile_matches)
                assert n == count, name
                times.append(ms)
                if args.compare_general:
                    n, ms = timed_count(compile_rules)
                    assert n == count, name
                    general.append(ms)
            started = time.perf_counter()
            segment_preview(rules=rules, as_of=as_of)
            preview_ms = (time.perf_counter() - started) * 1000
            all_times += times
            general_times += general
            times_by_rule[name] = times
            path = "facts" if facts_only(parse_rules(rules)) else "customers"
            per_rule.append({"rule": name, "count": count, "query_on": path,
                             "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                             "preview_with_sample_ms": round(preview_ms, 1)}
                            | ({"general_median_ms": round(statistics.median(general), 1)} if general else {}))
            print(f"  {name:<36} {count:>9,}  {path:<9}  median {statistics.median(times):7.1f} ms  "
                  f"max {max(times):7.1f} ms  count+sample {preview_ms:7.1f} ms"
                  + (f"  general query median {statistics.median(general):7.1f} ms" if general else ""),
                  flush=True)
        # The same figures without the rules that read order lines ("bought … within N days"), which scan
        # millions of lines per count: the rest is what facts and scores alone cost.
        purchase = {name for name, rules in RULES if "bought_" in json.dumps(rules)}
        other_times = [t for name, times in times_by_rule.items() if name not in purchase for t in times]
        figures["preview"] = {
            "rules": len(RULES), "counts_timed": len(all_times),
            "p50_ms": round(percentile(all_times, 0.50), 1), "p95_ms": round(percentile(all_times, 0.95), 1),
            "max_ms": round(max(all_times), 1),
            "without_purchase_rules": {"rules": len(RULES) - len(purchase),
                                       "p50_ms": round(percentile(other_times, 0.50), 1),
                                       "p95_ms": round(percentile(other_times, 0.95), 1),
                                       "max_ms": round(max(other_times), 1)},
            "per_rule": per_rule,
        }
        if general_times:
            figures["preview"]["general_query"] = {"p50_ms": round(percentile(general_times, 0.50), 1),
                                                   "p95_ms": round(percentile(general_times, 0.95), 1),
                                                   "max_ms": round(max(general_times), 1)}
        figures["load_average"]["after_preview"] = _load()
        print(f"preview count: p50 {figures['preview']['p50_ms']} ms, p95 {figures['preview']['p95_ms']} ms, "
              f"max {figures['preview']['max_ms']} ms; without the purchase rules: "
              f"{figures['preview']['without_purchase_rules']}", flush=True)

        if args.skip_refresh:
            figures["refresh"] = None
            return _report(figures)
        # 4. Refreshing 30 saved segments.
        Segment.objects.filter(name__startswith="bench: ").delete()
        builtin = segments_ensure_builtin()
        Segment.objects.filter(pk__in=[s.pk for s in builtin]).update(member_count=0)
        from guanxi.segments.models import SegmentMember, SegmentSize

        SegmentMember.objects.filter(segment__in=builtin).delete()
        SegmentSize.objects.filter(segment__in=builtin).delete()
        custom = [segment_create(name=f"bench: {name}", rules=rules, refresh=False)
                  for name, rules in RULES[:SAVED_FROM_RULES]]
        segments = [*builtin, *custom]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE segments_segmentmember")
        rounds = []
        for label, moment in (("first refresh (everyone enters)", as_of),
                              ("next day (only changes written)", as_of + dt.timedelta(days=1))):
            started = time.perf_counter()
            results = [segment_refresh(segment=segment, as_of=moment) for segment in segments]
            seconds = time.perf_counter() - started
            slowest = max(results, key=lambda r: r.seconds)
            rounds.append({"round": label, "segments": len(results), "seconds": round(seconds, 1),
                           "members": sum(r.size for r in results), "entered": sum(r.entered for r in results),
                           "left": sum(r.left for r in results), "slowest_segment_seconds": slowest.seconds})
            print(f"refresh {len(results)} segments, {label}: {seconds:.1f} s, "
                  f"{rounds[-1]['members']:,} memberships, {rounds[-1]['entered']:,} entered, "
                  f"{rounds[-1]['left']:,} left (slowest {slowest.seconds:.1f} s)", flush=True)
        figures["refresh"] = rounds
        figures["load_average"]["after_refresh"] = _load()
    return _report(figures)


def _load() -> float:
    """The 1-minute load average: the machine is shared, and figures mean little without it."""
    return round(os.getloadavg()[0], 2)


def _report(figures: dict) -> int:
    """Print the figures (without the per-rule table, printed above) and write them to benchmarks/results."""
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "segments.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2))
    print(json.dumps({k: v for k, v in figures.items() if k != "preview"} | {
        "preview": {k: v for k, v in figures["preview"].items() if k != "per_rule"}}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
