"""Order import at scale: generated Taobao-format and generic CSV exports through `guanxi.imports`, against a raw
bulk load of the same rows as the ceiling.

    .venv/bin/python benchmarks/import_orders.py --orders 1000000[,10000000] [--formats taobao,generic]
    GUANXI_DATABASE_URL=postgres://root@127.0.0.1:5432/guanxi_impbench GUANXI_HOME=/tmp/gx-impbench \\
        .venv/bin/python benchmarks/import_orders.py --orders 10000000

For each size and format:

1. the export is generated once into --dir (default GUANXI_HOME/bench-imports), streaming: Taobao files are GBK
   with `="…"` order numbers, phones with a leading `'`, one in 20 masked (`138****5678`), quoted addresses with
   commas and a postal code, every status; one customer per 10 orders (`--orders-per-customer`);
2. a child process imports it with `orders_import` into a new workspace and store (one transaction, as the CLI
   does) and reports wall time, orders/s, its own peak RSS, its CPU seconds and (local PostgreSQL) those of its
   database backend, and the 1-minute load average before and after (the machine may be shared);
3. a child process loads the same rows raw — parsed with the csv module only, then PostgreSQL `COPY` or SQLite
   `executemany` in one transaction into a scratch table with the same unique key (store, order number) — which
   is the ceiling no importer that checks and matches can beat.

Each step runs in its own process, so peak RSS is that step's own. Run it at several sizes to see that memory stays
flat as the file grows. Prints a table and JSON; writes benchmarks/results/import_orders.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from _setup import ROOT, database, machine, setup_django

PROVINCES = [("浙江省", "杭州市", "西湖区", "310000"), ("广东省", "深圳市", "南山区", "518000"),
             ("江苏省", "南京市", "雨花台区", "210012"), ("北京", "北京市", "朝阳区", "100020"),
             ("湖北省", "武汉市", "洪山区", "430070"), ("四川省", "成都市", "武侯区", "610041")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀英华"
TITLES = [("儿童运动鞋 魔术贴", "159.00", "KID-08"), ("情侣款 休闲板鞋 春季新款", "399.00", "CPL-03"),
          ("瑜伽裤 女 高腰 弹力", "129.00", "YOGA-05"), ("篮球鞋 实战 高帮, 耐磨", "499.00", "BB-01"),
          ("运动袜 5双装 棉", "39.90", "SOCK-06")]
TAOBAO_STATUSES = ["交易成功"] * 14 + ["买家已付款，等待卖家发货", "卖家已发货，等待买家确认", "交易关闭", "等待买家付款"]
GENERIC_STATUSES = ["completed"] * 14 + ["paid", "shipped", "closed", "pending_payment"]
TAOBAO_HEADER = ["订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "总金额", "买家实际支付金额",
                 "订单状态", "买家留言", "收货人姓名", "收货地址", "联系手机", "订单创建时间", "订单付款时间", "宝贝标题",
                 "物流单号", "物流公司", "退款金额"]
GENERIC_HEADER = ["order_number", "customer_id", "customer_name", "phone", "email", "created", "paid", "status",
                  "amount", "refunded"]


def _customer(rng: random.Random, cid: int) -> dict:
    province, city, district, postal = PROVINCES[cid % len(PROVINCES)]
    phone = f"1{3 + cid % 7}{cid:09d}"
    return {
        "nick": f"tb{cid:09d}", "name": SURNAMES[cid % 20] + GIVEN[(cid // 20) % 20],
        "phone": phone, "masked": cid % 20 == 0, "email": f"c{cid}@example.com",
        "address": f"{province} {city} {district} 文三路{cid % 500}号, {cid % 30}幢{cid % 2800}室({postal})",
    }


def generate(path: Path, fmt: str, orders: int, per_customer: int, seed: int = 7) -> float:
    """Write `orders` orders in `fmt` to `path`, streaming; returns seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    customers = max(1, orders // per_customer)
    base = dt.datetime(2022, 1, 1)
    encoding = "gbk" if fmt == "taobao" else "utf-8"
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TAOBAO_HEADER if fmt == "taobao" else GENERIC_HEADER)
        for n in range(orders):
            cid = rng.randrange(customers)
            c = _customer(rng, cid)
            created = base + dt.timedelta(seconds=rng.randrange(2 * 365 * 86400))
            paid = created + dt.timedelta(minutes=rng.randrange(1, 90))
            title, price, _sku = TITLES[n % len(TITLES)]
            qty = 1 + n % 3
            goods = f"{float(price) * qty:.2f}"
            number = f"{1930000000000000 + n}"
            if fmt == "taobao":
                status = TAOBAO_STATUSES[n % len(TAOBAO_STATUSES)]
                money = status not in ("交易关闭", "等待买家付款")
                refund = f"{float(price):.2f}" if status == "交易成功" and n % 25 == 0 else "0.00"
                phone = c["phone"][:3] + "****" + c["phone"][7:] if c["masked"] else "'" + c["phone"]
                writer.writerow([
                    f'="{number}"' if n % 2 else number, c["nick"], c["email"], goods, "0.00", goods,
                    goods if money else "0.00", status, "请尽快发货" if n % 7 == 0 else "", c["name"], c["address"],
                    phone, created.strftime("%Y-%m-%d %H:%M:%S") if n % 3 else created.strftime("%Y/%-m/%-d %H:%M"),
                    paid.strftime("%Y-%m-%d %H:%M:%S") if money else "", title,
                    f"YT{n:012d}" if status in ("交易成功", "卖家已发货，等待买家确认") else "",
                    "顺丰速运" if status in ("交易成功", "卖家已发货，等待买家确认") else "", refund,
                ])
            else:
                status = GENERIC_STATUSES[n % len(GENERIC_STATUSES)]
                money = status not in ("closed", "pending_payment")
                writer.writerow([
                    f"G{number}", f"C{cid}", c["name"], c["phone"], c["email"], created.isoformat(sep=" "),
                    paid.isoformat(sep=" ") if money else "", status, goods,
                    f"{float(price):.2f}" if status == "completed" and n % 25 == 0 else "0.00",
                ])
    tmp.rename(path)
    return time.perf_counter() - started


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_import(path: Path, fmt: str, orders: int) -> dict:
    setup_django(migrate=False)
    from guanxi.imports.services import orders_import
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.services import store_create, workspace_create

    try:  # recorded for its undo, as the CLI and the upload page import
        from guanxi.imports.undo import orders_import_recorded

        def _import(**options):
            return orders_import_recorded(**options)[1]
    except ImportError:  # a checkout from before undo: the same import, unrecorded
        _import = orders_import

    slug = f"bench-{fmt}-{orders}-{int(time.time())}"
    workspace = workspace_create(slug=slug[:64], name=slug)
    store = store_create(workspace=workspace, name=f"{fmt} bench", platform="taobao" if fmt == "taobao" else
                         "own_site")
    backend = _backend_pid()
    load_before, cpu_before, db_cpu_before = os.getloadavg()[0], _cpu_s(), _db_cpu_s(backend)
    started = time.perf_counter()
    with tenancy.active(workspace):
        result = _import(workspace=workspace, store=store, path=path, fmt=fmt)
    seconds = time.perf_counter() - started
    summary = result.as_json()
    db_cpu = _db_cpu_s(backend)
    return {"seconds": round(seconds, 2), "orders_per_s": round(summary["orders_created"] / seconds),
            "peak_rss_mb": round(_peak_rss_mb(), 1), "summary": {k: v for k, v in summary.items() if k != "errors"},
            "errors": len(summary.get("errors", [])), "workspace": slug,
            "python_cpu_s": round(_cpu_s() - cpu_before, 1),
            "db_server_cpu_s": None if db_cpu is None else round(db_cpu - db_cpu_before, 1),
            "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    times = os.times()
    return times.user + times.system


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _db_cpu_s(pid: int | None) -> float | None:
    """CPU seconds of the PostgreSQL backend serving this process (a local server only; None otherwise)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime in clock ticks


def child_raw(path: Path, fmt: str) -> dict:
    """The ceiling: the same rows parsed by the csv module only and loaded in one transaction."""
    setup_django(migrate=False)
    from django.db import connection, transaction

    encoding = "gbk" if fmt == "taobao" else "utf-8"
    if fmt == "taobao":
        pick = (0, 1, 11, 6, 7, 12, 13)  # number, nick, phone, paid, status, created, paid at
    else:
        pick = (0, 1, 3, 8, 7, 5, 6)
    table = f"bench_raw_{fmt}_{os.getpid()}"
    postgres = connection.vendor == "postgresql"
    ts = "timestamptz" if postgres else "text"
    started = time.perf_counter()
    count = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, store_id bigint, number varchar(64), "
                           f"buyer varchar(100), phone varchar(32), paid_amount numeric(14,2), status varchar(40), "
                           f"placed_at {ts}, paid_at {ts})")
            cursor.execute(f"CREATE UNIQUE INDEX {table}_key ON {table} (store_id, number)")

        def rows():
            with open(path, encoding=encoding, newline="") as handle:
                reader = csv.reader(handle)
                next(reader)
                for i, cells in enumerate(reader, 1):
                    number, buyer, phone, paid, status, created, paid_at = (cells[j] for j in pick)
                    yield (i, 1, number.strip('="'), buyer, phone, paid, status, created or None, paid_at or None)

        raw = connection.connection
        if postgres:
            with raw.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
                    count += 1
        else:
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    raw.executemany(f"INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?,?)", batch)
                    count += len(batch)
                    batch = []
            raw.executemany(f"INSERT INTO {table} VALUES (?,?,?,?,?,?,?,?,?)", batch)
            count += len(batch)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
    return {"seconds": round(seconds, 2), "rows_per_s": round(count / seconds), "rows": count,
            "peak_rss_mb": round(_peak_rss_mb(), 1)}


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", default="1000000", help="comma-separated sizes (default 1000000)")
    parser.add_argument("--formats", default="taobao,generic")
    parser.add_argument("--orders-per-customer", type=int, default=10)
    parser.add_argument("--dir", default="")
    parser.add_argument("--skip-raw", action="store_true", help="import only, no ceiling")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, path, fmt = args.child[0], Path(args.child[1]), args.child[2]
        result = child_import(path, fmt, int(args.child[3])) if kind == "import" else child_raw(path, fmt)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    setup_django(migrate=True)
    from django.conf import settings

    folder = Path(args.dir or settings.GUANXI_HOME / "bench-imports")
    folder.mkdir(parents=True, exist_ok=True)
    report = {"date": dt.date.today().isoformat(), "machine": machine(), "database": database(), "runs": []}
    print(f"{report['date']} · {report['machine']} · {report['database']}", flush=True)
    print(f"{'format':<8} {'orders':>11} {'import s':>9} {'orders/s':>9} {'RSS MB':>7} {'py cpu':>7} {'db cpu':>7} "
          f"{'load':>10} {'raw s':>7} {'raw rows/s':>10} {'ratio':>6}", flush=True)
    for size in [int(s) for s in args.orders.split(",")]:
        for fmt in args.formats.split(","):
            path = folder / f"{fmt}_{size}.csv"
            generated = None
            if not path.exists():
                generated = round(generate(path, fmt, size, args.orders_per_customer), 1)
            imported = _run_child("import", str(path), fmt, str(size))
            raw = None if args.skip_raw else _run_child("raw", str(path), fmt, str(size))
            ratio = round(imported["orders_per_s"] / raw["rows_per_s"], 2) if raw else None
            run = {"format": fmt, "orders": size, "file_mb": round(path.stat().st_size / 2**20, 1),
                   "generated_s": generated, "import": imported, "raw": raw, "ratio_to_raw": ratio}
            report["runs"].append(run)
            load = "-".join(str(x) for x in imported["load_1min"])
            print(f"{fmt:<8} {size:>11,} {imported['seconds']:>9} {imported['orders_per_s']:>9,} "
                  f"{imported['peak_rss_mb']:>7} {imported['python_cpu_s']:>7} {imported['db_server_cpu_s'] or '-':>7} "
                  f"{load:>10} {raw['seconds'] if raw else '-':>7} "
                  f"{raw['rows_per_s'] if raw else '-':>10} {ratio if ratio is not None else '-':>6}", flush=True)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / "import_orders.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
