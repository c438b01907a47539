"""Generate a Taobao-style store: customers, identities, orders in every status, shipments and CRM activity.

Streams in chunks of customers (each chunk one transaction, rows written with COPY on PostgreSQL and executemany on
SQLite), so a million customers and ten million orders take constant memory. The output is a pure function of
(seed, customers, orders, now, staff, chunk sizes): every chunk draws from its own `random.Random` seeded from the
seed and the chunk number, and unique values (phones, nicks, order and tracking numbers) come from bijective
scrambles of the customer or order index, so they never collide within a workspace.

What a shop gets, per customer: a Chinese name, gender, place and address; a valid mainland mobile stored as an
E.164 `phone` identity (88%, the rest only a masked display phone), a `buyer_nick` (all), a store-scoped
`taobao_ouid` (40%), an email (25%); consent per channel; tags; some B2B buyers with company details. Orders are
spread over each customer's active period in the last two years; the status follows the order's age (recent ones
are still pending, paid or in transit) and amounts and timestamps agree with it: pending and closed orders bring
no money, refunds exist only on refunded and partially refunded orders, shipments carry real carriers and tracking
numbers, completed ones have been delivered. Staff get chat notes (interactions), follow-up tasks (some due today
for every staff member), opportunities in every stage and a few satisfaction surveys.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import random
import threading
import time
import zoneinfo
from typing import Sequence

from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection, connections
from django.utils import timezone

from guanxi.activities.models import Interaction, Opportunity, Task
from guanxi.commerce.models import Order, OrderLine, Product, Shipment
from guanxi.customers.models import Consent, Customer, CustomerTag, Identity, SurveyRecord, Tag
from guanxi.demo import tables, vocabulary as V
from guanxi.demo.bulk import BulkWriter, progress_bar
from guanxi.workspaces.models import Platform, Store, Workspace

DEFAULT_STORE_NAME = "淘宝旗舰店"
# One writer thread: a second one measured no faster (PostgreSQL, not Python, limits a big load; see benchmarks/).
WRITER_THREADS = 1
DAY = 86_400
HORIZON_DAYS = 730

PENDING, PAID, SHIPPED, COMPLETED = "pending_payment", "paid", "shipped", "completed"
CLOSED, REFUNDED, PARTIAL = "closed", "refunded", "partially_refunded"
# The first orders of a run take each status once, so even a tiny demo shows all of them: (status, age in s).
SHOWCASE = [(PENDING, 2 * 3600), (PAID, 5 * 3600), (SHIPPED, 30 * 3600), (COMPLETED, 20 * DAY),
            (CLOSED, 15 * DAY), (REFUNDED, 25 * DAY), (PARTIAL, 30 * DAY)]
# Status by the order's age: (maximum age in days, [(status, percent), ...]).
STATUS_BY_AGE = [
    (1, [(PENDING, 20), (PAID, 30), (SHIPPED, 35), (CLOSED, 15)]),
    (3, [(PAID, 8), (SHIPPED, 72), (COMPLETED, 8), (CLOSED, 7), (REFUNDED, 5)]),
    (12, [(SHIPPED, 35), (COMPLETED, 52), (CLOSED, 5), (REFUNDED, 4), (PARTIAL, 4)]),
    (None, [(COMPLETED, 84), (CLOSED, 7), (REFUNDED, 5), (PARTIAL, 4)]),
]
OPPORTUNITY_STAGES = [("lead", 30), ("qualified", 20), ("proposal", 15), ("negotiation", 10), ("won", 15),
                      ("lost", 10)]


@dataclasses.dataclass(frozen=True)
class TaobaoGeneration:
    store: Store
    customers: int
    orders: int
    order_lines: int
    shipments: int
    interactions: int
    tasks: int
    opportunities: int
    seconds: float

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


def _table(pairs) -> list:
    """A list in which each item appears `weight` times: uniform picks from it are weighted picks."""
    return [item for item, weight in pairs for _ in range(weight)]


def _scramble(index: int, multiplier: int, offset: int, modulus: int) -> int:
    """A bijection of [0, modulus): distinct indexes give distinct values (multiplier is coprime to modulus)."""
    return (index * multiplier + offset) % modulus


def _order_number(k: int, seed: int) -> str:
    """The 19-digit number of the k-th generated order: increasing with k (as Taobao's grow with time, which also
    keeps index inserts at the right edge), unique because the low part stays below the step."""
    return str(1_900_000_000_000_000_000 + k * 101 + (k * 7 + seed) % 101)


def _money(cents: int) -> str:
    return "%d.%02d" % divmod(cents, 100)


@dataclasses.dataclass
class _Context:
    """Everything chunks share; built once per run."""

    writer: BulkWriter
    ws: int
    store: int
    now: int
    horizon: int
    today: dt.date
    tz: dt.tzinfo
    seed: int
    staff: list[int | None]
    tags: dict[str, int]
    products: list[tuple]  # (id, sku, title, price cents, cost text)
    product_table: list[int]  # indexes into products, weighted by popularity
    today_tasks_per_staff: int
    sms_offset: int
    customer_base: int


def generate_taobao_store(
    *,
    workspace: Workspace,
    customers: int = 2000,
    orders: int = 10000,
    seed: int = 1,
    now: dt.datetime | None = None,
    staff: Sequence[int] = (),
    store_name: str = DEFAULT_STORE_NAME,
    today_tasks_per_staff: int = 3,
    progress: bool = False,
    chunk_customers: int = 5000,
    chunk_orders: int = 25000,
    parallel: bool | None = None,
) -> TaobaoGeneration:
    """Create the store `store_name` (platform taobao, CNY) in `workspace` and fill it; returns what was made.

    `staff` are user ids that author chat notes and own tasks and opportunities; each gets
    `today_tasks_per_staff` open follow-ups due today (in the workspace time zone). A chunk holds at most
    `chunk_customers` customers and about `chunk_orders` orders. `parallel` writes chunks from a second thread
    (default: on PostgreSQL outside a transaction). Refuses a store that already has orders.
    """
    if customers < 0 or orders < 0:
        raise ValueError("customers and orders must not be negative")
    if orders and not customers:
        raise ValueError("orders need customers")
    started = time.perf_counter()
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    store = Store.all_workspaces.filter(workspace=workspace, name=store_name).first()
    if store is None:
        from guanxi.workspaces.services import store_create

        store = store_create(workspace=workspace, name=store_name, platform=Platform.TAOBAO, currency="CNY")
    if Order.all_workspaces.filter(store=store).exists():
        raise ValueError(f"The store {store_name!r} already has orders; generate into a new store.")

    # Unique values (phones, nicks, order numbers) come from a running index; starting past the customers and
    # orders the workspace already has keeps a second generated store from repeating the first one's.
    customer_base = Customer.all_workspaces.filter(workspace=workspace).count()
    order_index = Order.all_workspaces.filter(workspace=workspace).count()
    writer = BulkWriter()
    now_ts = int(now.timestamp())
    ctx = _Context(
        writer=writer, ws=workspace.pk, store=store.pk, now=now_ts, horizon=now_ts - HORIZON_DAYS * DAY,
        today=now.astimezone(tz).date(), tz=tz, seed=seed, staff=list(staff) or [None],
        tags=_ensure_tags(workspace), products=_ensure_products(workspace),
        product_table=_table((i, p[5]) for i, p in enumerate(V.PRODUCTS)),
        today_tasks_per_staff=today_tasks_per_staff if staff else 0,
        sms_offset=random.Random(seed).randrange(10**8), customer_base=customer_base,
    )
    if parallel is None:
        # Writing from another thread (with its own connection) lets PostgreSQL insert one chunk while Python
        # makes the next. Not inside a caller's transaction: the other connection could not see its rows.
        parallel = writer.postgres and not connection.in_atomic_block
    writers = WRITER_THREADS if parallel else 0
    per_chunk = max(1, min(chunk_customers, (chunk_orders * customers) // orders if orders else chunk_customers))
    counts = dict.fromkeys(("orders", "lines", "shipments", "interactions", "tasks", "opportunities"), 0)
    bar = progress_bar(progress, total=orders, desc=store_name)
    executor = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="guanxi-demo-writer") if writers else None
    pending: collections.deque[Future] = collections.deque()
    try:
        for number, start in enumerate(range(0, customers, per_chunk)):
            end = min(customers, start + per_chunk)
            chunk_order_count = orders * end // customers - orders * start // customers
            rng = random.Random(seed * 1_000_003 + number)
            if executor is None:
                # On SQLite the transaction holds the write lock, so the reserved ids stay ours.
                with writer.transaction(trusted_references=True):
                    rows = _chunk(ctx, rng, start, end, order_index, writer.reserve_ids(Customer, end - start),
                                  writer.reserve_ids(Order, chunk_order_count), first=number == 0)
                    _write(writer, rows)
                bar.update(chunk_order_count)
            else:
                rows = _chunk(ctx, rng, start, end, order_index, writer.reserve_ids(Customer, end - start),
                              writer.reserve_ids(Order, chunk_order_count), first=number == 0)
                # Memory stays bounded: at most `writers` chunks being written plus the one just made.
                while len(pending) >= writers:
                    bar.update(pending.popleft().result())
                pending.append(executor.submit(_write_in_thread, rows, chunk_order_count))
            order_index += chunk_order_count
            for key in counts:
                counts[key] += len(rows[key])
            del rows
        while pending:
            bar.update(pending.popleft().result())
    finally:
        if executor is not None:
            for future in pending:
                future.exception()  # let every writer finish before the connections close
            # One closing task per writer thread: the barrier keeps one thread from taking two of them.
            barrier = threading.Barrier(writers)

            def close_connections():
                barrier.wait(timeout=60)
                connections.close_all()  # this thread's connections only

            for _ in range(writers):
                executor.submit(close_connections)
            executor.shutdown(wait=True)
        bar.close()
    writer.analyze_if_grown({
        Customer: customers, Identity: customers * 2, Consent: customers, CustomerTag: customers,
        Order: counts["orders"], OrderLine: counts["lines"], Shipment: counts["shipments"],
        Interaction: counts["interactions"], Task: counts["tasks"], Opportunity: counts["opportunities"],
        SurveyRecord: customers // 50,
    })
    return TaobaoGeneration(
        store=store, customers=customers, orders=counts["orders"], order_lines=counts["lines"],
        shipments=counts["shipments"], interactions=counts["interactions"], tasks=counts["tasks"],
        opportunities=counts["opportunities"], seconds=time.perf_counter() - started,
    )


def _write_in_thread(rows: dict, order_count: int) -> int:
    """Write one chunk in one transaction on this (writer) thread's own connection."""
    writer = BulkWriter()
    with writer.transaction(trusted_references=True):
        _write(writer, rows)
    return order_count


def _ensure_tags(workspace: Workspace) -> dict[str, int]:
    Tag.all_workspaces.bulk_create(
        [Tag(workspace=workspace, name=name, color=color) for name, color in V.TAGS], ignore_conflicts=True
    )
    return dict(Tag.all_workspaces.filter(workspace=workspace, name__in=[n for n, _ in V.TAGS])
                .values_list("name", "id"))


def _ensure_products(workspace: Workspace) -> list[tuple]:
    Product.all_workspaces.bulk_create(
        [Product(workspace=workspace, sku=sku, title=title, category=category, price=price, cost=cost,
                 currency="CNY") for sku, title, category, price, cost, _ in V.PRODUCTS],
        ignore_conflicts=True,
    )
    ids = dict(Product.all_workspaces.filter(workspace=workspace, sku__in=[p[0] for p in V.PRODUCTS])
               .values_list("sku", "id"))
    return [(ids[sku], sku, title, price * 100, f"{cost}.00") for sku, title, _, price, cost, _ in V.PRODUCTS]


def _write(writer: BulkWriter, rows: dict) -> None:
    for key, model, fields in (
        ("customers", Customer, tables.CUSTOMER), ("identities", Identity, tables.IDENTITY),
        ("consents", Consent, tables.CONSENT), ("customer_tags", CustomerTag, tables.CUSTOMER_TAG),
        ("surveys", SurveyRecord, tables.SURVEY_RECORD), ("interactions", Interaction, tables.INTERACTION),
        ("tasks", Task, tables.TASK), ("opportunities", Opportunity, tables.OPPORTUNITY),
        ("orders", Order, tables.ORDER), ("lines", OrderLine, tables.ORDER_LINE),
        ("shipments", Shipment, tables.SHIPMENT),
    ):
        if rows[key]:
            writer.insert(model, fields, rows[key])


# Built once at import: uniform picks from these lists are weighted picks.
_SURNAMES = _table(((s, p), w) for s, p, w in V.SURNAMES)
_PLACES = _table(((prov, city, districts), w) for prov, city, districts, w in V.PLACES)
_DOMAINS = _table(V.EMAIL_DOMAINS)
_CARRIERS = _table(((name, code), w) for name, code, w in V.CARRIERS)
_STAGES = _table(OPPORTUNITY_STAGES)
_STATUS_BY_AGE = [(None if days is None else days * DAY, _table(pairs)) for days, pairs in STATUS_BY_AGE]
_AGE_LIMITS = [limit for limit, _ in _STATUS_BY_AGE[:-1]]


def _status_for_age(age: int, rand) -> str:
    table = _STATUS_BY_AGE[bisect.bisect_right(_AGE_LIMITS, age)][1]
    status = table[int(rand() * len(table))]
    # Too young for the status drawn: the order has not got that far yet.
    if status == SHIPPED and age < 3 * 3600:
        status = PAID
    if status == PAID and age < 900:
        status = PENDING
    return status


def _timeline(status: str, placed: int, now: int, rand) -> tuple:
    """(paid, shipped, delivered, completed, closed, shipment status) for an order placed at `placed`.

    Durations are drawn as a Taobao order usually goes (pay within minutes, ship within two days, delivery in
    one to four days, confirmation up to ten days later) and squeezed proportionally when they would pass `now`.
    """
    paid = shipped = delivered = completed = closed = None
    shipment = None
    if status == PENDING:
        return paid, shipped, delivered, completed, closed, shipment
    if status == CLOSED:  # unpaid and cancelled or timed out
        return paid, shipped, delivered, completed, min(placed + 1800 + int(rand() * 84_600), now), shipment
    paid = placed + 60 + int(rand() * 840)
    last = paid
    if status == REFUNDED and rand() < 0.5:  # refunded before it shipped
        closed = last = paid + 3600 + int(rand() * 2 * DAY)
    elif status != PAID:
        shipped = last = paid + 7200 + int(rand() * 122_400)
        shipment = "in_transit"
        if status != SHIPPED:
            delivered = last = shipped + DAY + int(rand() * 3 * DAY)
            shipment = "delivered"
            if status == REFUNDED:  # sent back after delivery
                closed = last = delivered + DAY + int(rand() * 6 * DAY)
                shipment = "returned"
            else:
                completed = last = delivered + 3600 + int(rand() * 9 * DAY)
    limit = now - 60
    if last > limit:
        factor = max(limit - placed, 0) / (last - placed)

        def squeeze(t):
            return None if t is None else placed + int((t - placed) * factor)

        paid, shipped, delivered, completed, closed = map(squeeze, (paid, shipped, delivered, completed, closed))
    return paid, shipped, delivered, completed, closed, shipment


def _chunk(ctx: _Context, rng: random.Random, start: int, end: int, order_start: int, customer_ids: list[int],
           order_ids: list[int], first: bool) -> dict[str, list]:
    """Rows for customers [start, end) and their orders (as many as `order_ids`), numbered from `order_start`."""
    rand = rng.random
    fmt = ctx.writer.format_ts
    ws, store, now, horizon = ctx.ws, ctx.store, ctx.now, ctx.horizon
    staff = ctx.staff
    out = {key: [] for key in ("customers", "identities", "consents", "customer_tags", "surveys", "orders",
                               "lines", "shipments", "interactions", "tasks", "opportunities")}
    customers_rows, identities, consents, tag_rows = (out["customers"], out["identities"], out["consents"],
                                                      out["customer_tags"])
    orders_rows, lines, shipments = out["orders"], out["lines"], out["shipments"]
    interactions, tasks, opportunities, surveys = (out["interactions"], out["tasks"], out["opportunities"],
                                                   out["surveys"])
    tags = ctx.tags
    products, product_table = ctx.products, ctx.product_table
    size = end - start
    order_count = len(order_ids)

    # How many orders each customer of the chunk places: a few are leads with none; the rest at least one,
    # and the remainder spread with heavy-tailed weights (a few customers buy very often).
    buyers = [pos for pos in range(size) if rand() >= 0.06] or list(range(size))
    per_customer = [0] * size
    remaining = order_count
    if order_count >= len(buyers):
        for pos in buyers:
            per_customer[pos] = 1
        remaining -= len(buyers)
    if remaining:
        cumulative = list(itertools.accumulate(min(rng.paretovariate(1.6), 60.0) for _ in buyers))
        for pos in rng.choices(buyers, cum_weights=cumulative, k=remaining):
            per_customer[pos] += 1

    showcase = list(SHOWCASE) if first else []
    showcase_stages = [stage for stage, _ in OPPORTUNITY_STAGES] if first else []
    staff_today = [member for member in staff if member is not None for _ in range(ctx.today_tasks_per_staff)]
    staff_today = staff_today if first else []
    today = ctx.today
    order_pos = 0
    n_prefixes = len(V.MOBILE_PREFIXES)

    for pos in range(size):
        index = ctx.customer_base + start + pos
        cid = customer_ids[pos]
        # -- who ------------------------------------------------------------------------------------------------
        surname, surname_py = _SURNAMES[int(rand() * len(_SURNAMES))]
        female = rand() < 0.62
        chars = V.GIVEN_FEMALE if female else V.GIVEN_MALE
        given = chars[int(rand() * len(chars))]
        if rand() < 0.6:
            second = V.GIVEN_ANY if rand() < 0.3 else chars
            given = second[int(rand() * len(second))] + given
        name = surname + given
        gender = "" if rand() < 0.05 else ("female" if female else "male")
        province, city, districts = _PLACES[int(rand() * len(_PLACES))]
        district = districts[int(rand() * len(districts))]
        address = "%s%d号%s%d栋%d单元%d室" % (
            V.STREETS[int(rand() * len(V.STREETS))], 1 + int(rand() * 300),
            V.COMMUNITIES[int(rand() * len(V.COMMUNITIES))], 1 + int(rand() * 30), 1 + int(rand() * 4),
            101 + int(rand() * 28) * 100 + int(rand() * 4))
        prefix = V.MOBILE_PREFIXES[index % n_prefixes]
        local = "%s%08d" % (prefix, _scramble(index // n_prefixes, 48_271, ctx.sms_offset, 10**8))
        has_phone = rand() < 0.88
        birthday = None
        if rand() < 0.3:
            birthday = dt.date.fromordinal(717_000 + int(rand() * 15_000)).isoformat()  # 1964..2005
        b2b = rand() < 0.02
        company = industry = size_text = model_text = ""
        if b2b:
            company = (city[:-1] if city.endswith("市") else city) + V.COMPANY_WORDS[int(rand() * 8)] + \
                V.COMPANY_KINDS[int(rand() * 4)]
            industry = V.INDUSTRIES[int(rand() * len(V.INDUSTRIES))]
            size_text = V.COMPANY_SIZES[int(rand() * len(V.COMPANY_SIZES))]
            model_text = V.BUSINESS_MODELS[int(rand() * len(V.BUSINESS_MODELS))]
        owner = staff[int(rand() * len(staff))] if (b2b or rand() < 0.05) else None

        # -- when and what they bought ----------------------------------------------------------------------------
        count = per_customer[pos]
        acquired = horizon + int((now - horizon) * (rand() ** 0.7))  # a growing shop: more recent customers
        active_until = acquired + int((now - acquired) * (rand() ** 0.5)) if count > 1 else acquired
        placed_times = [acquired + int((active_until - acquired) * rand()) for _ in range(count - 1)]
        if count:
            placed_times.append(acquired)
        first_placed = now
        paid_cents_total = 0
        paid_orders = 0
        last_paid = None
        any_refund = any_pending = couple = False
        completed_times: list[int] = []
        my_orders: list[int] = []
        for placed in placed_times:
            k = order_start + order_pos
            oid = order_ids[order_pos]
            if showcase:
                status, age = showcase.pop(0)
                placed = now - age
            else:
                status = _status_for_age(now - placed, rand)
            if placed < first_placed:
                first_placed = placed
            paid_at, shipped_at, delivered_at, completed_at, closed_at, shipment = _timeline(status, placed, now,
                                                                                             rand)
            placed_s = fmt(placed)
            # Lines: one to three products, mostly one of each.
            goods = 0
            n_lines = 1 if rand() < 0.7 else (2 if rand() < 0.75 else 3)
            line_amounts = []
            for _ in range(n_lines):
                pid, sku, title, price, cost = products[product_table[int(rand() * len(product_table))]]
                quantity = 1 if rand() < 0.8 else (2 if rand() < 0.75 else 3)
                amount = price * quantity
                goods += amount
                line_amounts.append(amount)
                lines.append((ws, placed_s, placed_s, oid, pid, sku, title, quantity, _money(price),
                              _money(amount), cost))
                if sku == "TB-S001":
                    couple = True
            shipping = 0 if goods >= 4900 or rand() < 0.6 else 600
            discount = 0
            if goods >= 20000 and rand() < 0.5:
                discount = 2000  # 满200减20
            elif goods >= 3000 and rand() < 0.15:
                discount = 500
            total = goods + shipping - discount
            money_in = status not in (PENDING, CLOSED)
            paid_cents = total if money_in else 0
            refunded = 0
            if status == REFUNDED:
                refunded = paid_cents
                any_refund = True
            elif status == PARTIAL:
                # One line sent back, or part of the price refunded for a flaw: always less than was paid.
                if len(line_amounts) > 1:
                    refunded = min(line_amounts)
                else:
                    refunded = max(1, paid_cents * (10 + int(rand() * 40)) // 100)
                refunded = min(refunded, paid_cents - 1)
                any_refund = True
            if money_in:
                paid_cents_total += paid_cents - refunded
                paid_orders += 1
                last_paid = placed if last_paid is None or placed > last_paid else last_paid
            any_pending = any_pending or status == PENDING
            updated = max(t for t in (placed, paid_at, shipped_at, delivered_at, completed_at, closed_at) if t)
            shipped_s = fmt(shipped_at) if shipped_at else None
            delivered_s = fmt(delivered_at) if delivered_at else None
            if completed_at:
                completed_times.append(completed_at)
            orders_rows.append((
                oid, ws, placed_s, fmt(updated), store, cid, _order_number(k, ctx.seed),
                status, "CNY", _money(goods), _money(shipping), _money(discount), _money(paid_cents),
                _money(refunded), placed_s, fmt(paid_at) if paid_at else None, shipped_s,
                fmt(completed_at) if completed_at else None, fmt(closed_at) if closed_at else None, name,
                local if has_phone else local[:3] + "****" + local[-4:],
                f"{province}{city}{district}{address}",
                V.BUYER_MESSAGES[int(rand() * len(V.BUYER_MESSAGES))] if rand() < 0.1 else "",
            ))
            if shipment:
                carrier, pattern = _CARRIERS[int(rand() * len(_CARRIERS))]
                tracking = pattern % (5 * 10**9 + k * 13 + (k * 5 + ctx.seed) % 13)
                shipments.append((ws, shipped_s, fmt(updated), oid, carrier, tracking, shipment, shipped_s,
                                  delivered_s))
            my_orders.append(placed)
            order_pos += 1

        created = (first_placed - int(rand() * 3600)) if count else acquired
        created_s = fmt(created)
        if not count:
            stage = "potential"
        elif last_paid is not None and now - last_paid > 365 * DAY:
            stage = "terminating"
        elif paid_orders <= 1:
            stage = "developing"
        elif paid_orders <= 4:
            stage = "growing"
        else:
            stage = "mature"
        customers_rows.append((
            cid, ws, created_s, created_s, name, name.lower(), gender, birthday, "CN", province, city, district,
            address, company, industry, size_text, model_text, "" if has_phone else local[:3] + "****" + local[-4:],
            stage, owner, "", None,
        ))

        # -- identities and consent ------------------------------------------------------------------------------
        if has_phone:
            identities.append((ws, created_s, created_s, cid, "phone", "+86" + local, local[-4:], None))
            consents.append((ws, created_s, created_s, cid, "sms", rand() < 0.75, created_s, "taobao_order"))
        nick = "%s%d" % (V.NICK_WORDS[int(rand() * len(V.NICK_WORDS))], _scramble(index, 7_919_993, 1, 10**8))
        identities.append((ws, created_s, created_s, cid, "buyer_nick", nick, nick[-4:].lower(), None))
        if rand() < 0.4:
            ouid = hashlib.md5(b"%d:%d" % (ctx.seed, index)).hexdigest()
            identities.append((ws, created_s, created_s, cid, "taobao_ouid", ouid, ouid[-4:], store))
        if rand() < 0.25:
            email = "%s%d@%s" % (surname_py, _scramble(index, 9_999_991, 3, 10**9),
                                 _DOMAINS[int(rand() * len(_DOMAINS))])
            identities.append((ws, created_s, created_s, cid, "email", email, email[-4:], None))
            consents.append((ws, created_s, created_s, cid, "email", rand() < 0.6, created_s, "taobao_order"))
        if rand() < 0.2:
            consents.append((ws, created_s, created_s, cid, "wechat", rand() < 0.8, created_s, "staff"))

        # -- tags -------------------------------------------------------------------------------------------------
        my_tags = []
        if paid_orders >= 5:
            my_tags.append("老客户")
        if paid_cents_total >= 200_000:
            my_tags.append("高价值")
        if b2b:
            my_tags.append("企业客户")
        if any_refund and rand() < 0.3:
            my_tags.append("差评风险")
        if couple:
            my_tags.append("情侣")
        if any_pending:
            my_tags.append("催付名单")
        if female and rand() < 0.08:
            my_tags.append("宝妈")
        if rand() < 0.06:
            my_tags.append("学生党")
        if rand() < 0.1:
            my_tags.append("价格敏感")
        for tag in my_tags:
            tag_rows.append((ws, created_s, created_s, cid, tags[tag]))

        # -- what staff did ----------------------------------------------------------------------------------------
        if rand() < (0.3 if count else 0.5):
            for _ in range(1 + int(rand() * 3) if count else 1):
                base = my_orders[int(rand() * len(my_orders))] if my_orders else created
                if my_orders and rand() < 0.5:
                    occurred = min(base + 3 * DAY + int(rand() * 9 * DAY), now - 60)
                    summary = V.AFTERSALE_NOTES[int(rand() * len(V.AFTERSALE_NOTES))]
                else:
                    occurred = max(base - 300 - int(rand() * 7200), horizon)
                    summary = V.PRESALE_NOTES[int(rand() * len(V.PRESALE_NOTES))]
                roll = rand()
                channel, kind = (("wangwang", "conversation") if roll < 0.8 else
                                 ("phone", "call") if roll < 0.9 else ("wechat", "conversation"))
                occurred_s = fmt(occurred)
                interactions.append((ws, occurred_s, occurred_s, cid, kind, channel, summary, "", occurred_s,
                                     staff[int(rand() * len(staff))]))
        if staff_today and count:
            assignee = staff_today.pop(0)
            tasks.append(_task(ctx, rand, cid, assignee, today, created, due_today=True))
        elif rand() < 0.06:
            tasks.append(_task(ctx, rand, cid, staff[int(rand() * len(staff))], today, created,
                               due_today=False))
        if showcase_stages or rand() < (0.6 if b2b else 0.015):
            stage = showcase_stages.pop(0) if showcase_stages else _STAGES[int(rand() * len(_STAGES))]
            close = today + dt.timedelta(days=(-int(rand() * 60) if stage in ("won", "lost")
                                               else int(rand() * 90) - 10))
            opportunities.append((ws, created_s, fmt(now - int(rand() * 30 * DAY)), cid,
                                  V.OPPORTUNITY_TITLES[int(rand() * len(V.OPPORTUNITY_TITLES))], stage,
                                  "%d.00" % (2000 + int(rand() * 48) * 1000), "CNY", close.isoformat(),
                                  staff[int(rand() * len(staff))], ""))
        if completed_times and rand() < 0.04:
            taken = min(completed_times[-1] + DAY + int(rand() * 4 * DAY), now - 60)
            scores = [5 if rand() < 0.6 else 4 if rand() < 0.7 else 3 for _ in range(3)]
            answers = {"物流速度": scores[0], "商品质量": scores[1], "服务态度": scores[2],
                       "评价": V.SURVEY_COMMENTS[int(rand() * len(V.SURVEY_COMMENTS))]}
            taken_s = fmt(taken)
            surveys.append((ws, taken_s, taken_s, cid, V.SURVEY_NAME, "%.2f" % (sum(scores) / 3),
                            json.dumps(answers, ensure_ascii=False), taken_s))
    return out


def _task(ctx: _Context, rand, customer_id: int, assignee, today: dt.date, created: int, *, due_today: bool) -> tuple:
    """A follow-up: open when due today or later; past ones mostly done (with an outcome), some overdue."""
    fmt = ctx.writer.format_ts
    title, kind = V.TASK_TITLES[int(rand() * len(V.TASK_TITLES))]
    offset = 0 if due_today else int(rand() * 31) - 20
    due = today + dt.timedelta(days=offset)
    due_start = int(dt.datetime.combine(due, dt.time(0), tzinfo=ctx.tz).timestamp())
    created = min(max(created, due_start - 1 - int(rand() * 7 * DAY)), ctx.now)
    status, outcome, completed = "open", "", None
    if offset < 0:
        roll = rand()
        if roll < 0.7:
            status, outcome = "done", V.TASK_OUTCOMES[int(rand() * len(V.TASK_OUTCOMES))]
            completed = fmt(max(created, min(due_start + 10 * 3600 + int(rand() * 8 * 3600), ctx.now)))
        elif roll < 0.75:
            status = "cancelled"
    created_s = fmt(created)
    return (ctx.ws, created_s, completed or created_s, customer_id, title, kind, assignee, due.isoformat(), status,
            outcome, completed, assignee)
