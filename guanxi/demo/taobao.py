"""Generate a Taobao-style store — or several (`guanxi.demo.stores`: Taobao, Tmall and a Shopify store abroad, in
USD) — with customers, identities, orders in every status, shipments and CRM activity.

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

With stores abroad, a tenth of the customers live abroad (US, GB, SG, CA, AU, MY, DE: a country code, province or
state, city and postcode on the customer and on each order's shipping address), have an English name and an
email, and pay in the store's currency (dollar prices, costs at stores.USD_CNY); a third of them are overseas
Chinese whose earlier orders were on Taobao, under the same mobile, nick and email. Chinese orders carry their
address parts too (country CN).
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
from guanxi.demo import abroad as A, stores as S, tables, vocabulary as V
from guanxi.demo.bulk import BulkWriter, progress_bar
from guanxi.demo.stores import StoreSpec
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
    store: Store  # the first of `stores`
    customers: int
    orders: int
    order_lines: int
    shipments: int
    interactions: int
    tasks: int
    opportunities: int
    seconds: float
    stores: tuple[Store, ...] = ()
    orders_by_store: dict[str, int] = dataclasses.field(default_factory=dict)  # store name -> orders

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
    domestic: list[tuple[int, StoreSpec]]  # (store id, spec) of the stores in China
    abroad: list[tuple[int, StoreSpec]]  # and of those selling abroad
    now: int
    horizon: int
    today: dt.date
    tz: dt.tzinfo
    seed: int
    staff: list[int | None]
    tags: dict[str, int]
    products: dict[str, list[tuple]]  # by currency: (id, sku, title, price cents, cost text); titles of abroad
    product_table: list[int]  # indexes into each list of products, weighted by popularity
    today_tasks_per_staff: int
    sms_offset: int
    customer_base: int
    numbers: dict[int, int]  # store id -> orders numbered `#1001`… so far (stores abroad); chunks run in turn


def generate_taobao_store(
    *,
    workspace: Workspace,
    customers: int = 2000,
    orders: int = 10000,
    seed: int = 1,
    now: dt.datetime | None = None,
    staff: Sequence[int] = (),
    store_name: str = DEFAULT_STORE_NAME,
    stores: Sequence[StoreSpec] | None = None,
    today_tasks_per_staff: int = 3,
    progress: bool = False,
    chunk_customers: int = 5000,
    chunk_orders: int = 25000,
    parallel: bool | None = None,
) -> TaobaoGeneration:
    """Create the store `store_name` (platform taobao, CNY) in `workspace` and fill it; returns what was made.

    With `stores` (e.g. `guanxi.demo.stores.DEMO_STORES`) it makes those instead and splits the orders across
    them: ABROAD_ORDER_SHARE of each chunk's orders go to the stores abroad, bought by the ABROAD_CUSTOMER_SHARE
    of customers who live abroad (some of them overseas Chinese who bought in the first Chinese store before);
    the Chinese buyers shop in one of the Chinese stores or both.
    `staff` are user ids that author chat notes and own tasks and opportunities; each gets
    `today_tasks_per_staff` open follow-ups due today (in the workspace time zone). A chunk holds at most
    `chunk_customers` customers and about `chunk_orders` orders. `parallel` writes chunks from a second thread
    (default: on PostgreSQL outside a transaction). Refuses a store that already has orders.
    """
    specs = tuple(stores) if stores else (StoreSpec(store_name, Platform.TAOBAO, "CNY"),)
    if customers < 0 or orders < 0:
        raise ValueError("customers and orders must not be negative")
    if orders and not customers:
        raise ValueError("orders need customers")
    started = time.perf_counter()
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    found = {store.name: store for store in Store.all_workspaces.filter(workspace=workspace,
                                                                        name__in=[spec.name for spec in specs])}
    for store in found.values():
        if Order.all_workspaces.filter(store=store).exists():
            raise ValueError(f"The store {store.name!r} already has orders; generate into a new store.")
    made, store_objects = [], []
    for spec in specs:
        store = found.get(spec.name)
        if store is None:
            from guanxi.workspaces.services import store_create

            store = store_create(workspace=workspace, name=spec.name, platform=spec.platform, currency=spec.currency)
        made.append((store.pk, spec))
        store_objects.append(store)

    # Unique values (phones, nicks, order numbers) come from a running index; starting past the customers and
    # orders the workspace already has keeps a second generated store from repeating the first one's.
    customer_base = Customer.all_workspaces.filter(workspace=workspace).count()
    order_index = Order.all_workspaces.filter(workspace=workspace).count()
    writer = BulkWriter()
    now_ts = int(now.timestamp())
    ctx = _Context(
        writer=writer, ws=workspace.pk, domestic=[m for m in made if not m[1].abroad],
        abroad=[m for m in made if m[1].abroad], now=now_ts, horizon=now_ts - HORIZON_DAYS * DAY,
        today=now.astimezone(tz).date(), tz=tz, seed=seed, staff=list(staff) or [None],
        tags=_ensure_tags(workspace), products=_ensure_products(workspace),
        product_table=_table((i, p[5]) for i, p in enumerate(V.PRODUCTS)),
        today_tasks_per_staff=today_tasks_per_staff if staff else 0,
        sms_offset=random.Random(seed).randrange(10**8), customer_base=customer_base,
        numbers=dict.fromkeys((pk for pk, _ in made), 0),
    )
    if parallel is None:
        # Writing from another thread (with its own connection) lets PostgreSQL insert one chunk while Python
        # makes the next. Not inside a caller's transaction: the other connection could not see its rows.
        parallel = writer.postgres and not connection.in_atomic_block
    writers = WRITER_THREADS if parallel else 0
    per_chunk = max(1, min(chunk_customers, (chunk_orders * customers) // orders if orders else chunk_customers))
    counts = dict.fromkeys(("orders", "lines", "shipments", "interactions", "tasks", "opportunities"), 0)
    by_store: collections.Counter[int] = collections.Counter()
    bar = progress_bar(progress, total=orders, desc=specs[0].name)
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
            by_store.update(row[4] for row in rows["orders"])
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
        store=store_objects[0], stores=tuple(store_objects),
        orders_by_store={spec.name: by_store[pk] for pk, spec in made}, customers=customers,
        orders=counts["orders"], order_lines=counts["lines"],
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


def _ensure_products(workspace: Workspace) -> dict[str, list[tuple]]:
    """The catalogue's products, made once; by currency the rows order lines take from them: the yuan price
    and cost, and for the stores abroad the dollar price, cost and English title."""
    Product.all_workspaces.bulk_create(
        [Product(workspace=workspace, sku=sku, title=title, category=category, price=price, cost=cost,
                 currency="CNY") for sku, title, category, price, cost, _ in V.PRODUCTS],
        ignore_conflicts=True,
    )
    ids = dict(Product.all_workspaces.filter(workspace=workspace, sku__in=[p[0] for p in V.PRODUCTS])
               .values_list("sku", "id"))
    return {
        "CNY": [(ids[sku], sku, title, price * 100, f"{cost}.00") for sku, title, _, price, cost, _ in V.PRODUCTS],
        "USD": [(ids[sku], sku, A.PRODUCT_TITLES[sku], S.usd_price_cents(price), S.usd_cost(cost))
                for sku, _, _, price, cost, _ in V.PRODUCTS],
    }


def _write(writer: BulkWriter, rows: dict) -> None:
    for key, model, fields in (
        ("customers", Customer, tables.CUSTOMER_IMPORTED), ("identities", Identity, tables.IDENTITY),
        ("consents", Consent, tables.CONSENT), ("customer_tags", CustomerTag, tables.CUSTOMER_TAG),
        ("surveys", SurveyRecord, tables.SURVEY_RECORD), ("interactions", Interaction, tables.INTERACTION),
        ("tasks", Task, tables.TASK), ("opportunities", Opportunity, tables.OPPORTUNITY),
        ("orders", Order, tables.ORDER_IMPORTED), ("lines", OrderLine, tables.ORDER_LINE),
        ("shipments", Shipment, tables.SHIPMENT),
    ):
        if rows[key]:
            writer.insert(model, fields, rows[key])


# Built once at import: uniform picks from these lists are weighted picks.
_SURNAMES = _table(((s, p), w) for s, p, w in V.SURNAMES)
_PLACES = _table(((prov, city, districts), w) for prov, city, districts, w in V.PLACES)
_DOMAINS = _table(V.EMAIL_DOMAINS)
_CARRIERS = _table(((name, code), w) for name, code, w in V.CARRIERS)
_ABROAD_CARRIERS = _table(((name, code), w) for name, code, w in A.CARRIERS)
_ABROAD_PLACES = _table((place[:5], place[5]) for place in A.PLACES)
_ABROAD_DOMAINS = _table(A.EMAIL_DOMAINS)
_USD_CNY = float(S.USD_CNY)
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


def _timeline(status: str, placed: int, now: int, rand, *, abroad: bool = False) -> tuple:
    """(paid, shipped, delivered, completed, closed, shipment status) for an order placed at `placed`.

    Durations are drawn as a Taobao order usually goes (pay within minutes, ship within two days, delivery in
    one to four days — five to fourteen `abroad` — confirmation up to ten days later) and squeezed proportionally
    when they would pass `now`.
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
            delivered = last = shipped + (5 * DAY + int(rand() * 9 * DAY) if abroad else DAY + int(rand() * 3 * DAY))
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


def _spread(rng: random.Random, buyers: list[int], count: int, size: int) -> list[int]:
    """How many of `count` orders each of a chunk's `size` customers places: every one of `buyers` at least one
    (when there are enough), the remainder with heavy-tailed weights (a few customers buy very often)."""
    per_customer = [0] * size
    remaining = count
    if count >= len(buyers):
        for pos in buyers:
            per_customer[pos] = 1
        remaining -= len(buyers)
    if remaining and buyers:
        cumulative = list(itertools.accumulate(min(rng.paretovariate(1.6), 60.0) for _ in buyers))
        for pos in rng.choices(buyers, cum_weights=cumulative, k=remaining):
            per_customer[pos] += 1
    return per_customer


def _markets(ctx: _Context, rand, size: int, first: bool) -> tuple[list[bool], list[bool], list[bool]]:
    """(lead, lives abroad, overseas Chinese) for each customer of a chunk. Some customers live abroad when there
    are stores abroad (all when there are only those; one at least per chunk); the first chunk's first buyer
    abroad is an overseas Chinese, so even a tiny demo has a customer in a Chinese store and one abroad."""
    leads = [rand() < 0.06 for _ in range(size)]
    if not ctx.abroad:
        abroad = [False] * size
    elif not ctx.domestic:
        abroad = [True] * size
    else:
        abroad = [rand() < S.ABROAD_CUSTOMER_SHARE for _ in range(size)]
        if size > 1 and not any(abroad):
            abroad[-1], leads[-1] = True, False
    overseas = [bool(ctx.domestic) and lives and rand() < S.OVERSEAS_CHINESE_SHARE for lives in abroad]
    if first and ctx.domestic:
        pos = next((pos for pos in range(size) if abroad[pos] and not leads[pos]), None)
        if pos is not None:
            overseas[pos] = True
    return leads, abroad, overseas


def _chunk(ctx: _Context, rng: random.Random, start: int, end: int, order_start: int, customer_ids: list[int],
           order_ids: list[int], first: bool) -> dict[str, list]:
    """Rows for customers [start, end) and their orders (as many as `order_ids`), numbered from `order_start`."""
    rand = rng.random
    fmt = ctx.writer.format_ts
    ws, now, horizon = ctx.ws, ctx.now, ctx.horizon
    staff = ctx.staff
    out = {key: [] for key in ("customers", "identities", "consents", "customer_tags", "surveys", "orders",
                               "lines", "shipments", "interactions", "tasks", "opportunities")}
    customers_rows, identities, consents, tag_rows = (out["customers"], out["identities"], out["consents"],
                                                      out["customer_tags"])
    orders_rows, lines, shipments = out["orders"], out["lines"], out["shipments"]
    interactions, tasks, opportunities, surveys = (out["interactions"], out["tasks"], out["opportunities"],
                                                   out["surveys"])
    tags = ctx.tags
    product_table = ctx.product_table
    size = end - start
    order_count = len(order_ids)

    # Who buys where: a few customers are leads with no order; the orders of the stores abroad go to the buyers
    # who live abroad, the rest to the buyers in China and the overseas Chinese (their earlier Taobao orders).
    leads, lives_abroad, overseas = _markets(ctx, rand, size, first)
    buyers = [pos for pos in range(size) if not leads[pos]] or list(range(size))
    abroad_buyers = [pos for pos in buyers if lives_abroad[pos]]
    home_buyers = [pos for pos in buyers if not lives_abroad[pos] or overseas[pos]] if ctx.domestic else []
    abroad_count = round(order_count * S.ABROAD_ORDER_SHARE) if ctx.domestic else order_count
    if not abroad_buyers:
        abroad_count = 0
    elif not home_buyers:
        abroad_count = order_count
    per_abroad = _spread(rng, abroad_buyers, abroad_count, size)
    per_home = _spread(rng, home_buyers, order_count - abroad_count, size)

    every_store = ctx.domestic + ctx.abroad
    showcase = {pk: list(SHOWCASE) for pk, _ in every_store} if first else {}
    both_shown = not first or len(ctx.domestic) < 2  # the first chunk shows a buyer of both Chinese stores
    showcase_stages = [stage for stage, _ in OPPORTUNITY_STAGES] if first else []
    staff_today = [member for member in staff if member is not None for _ in range(ctx.today_tasks_per_staff)]
    staff_today = staff_today if first else []
    today = ctx.today
    order_pos = 0
    n_prefixes = len(V.MOBILE_PREFIXES)

    for pos in range(size):
        index = ctx.customer_base + start + pos
        cid = customer_ids[pos]
        abroad, chinese = lives_abroad[pos], not lives_abroad[pos] or overseas[pos]
        # -- who ------------------------------------------------------------------------------------------------
        female = rand() < 0.62
        if chinese:
            surname, surname_py = _SURNAMES[int(rand() * len(_SURNAMES))]
            chars = V.GIVEN_FEMALE if female else V.GIVEN_MALE
            given = chars[int(rand() * len(chars))]
            if rand() < 0.6:
                second = V.GIVEN_ANY if rand() < 0.3 else chars
                given = second[int(rand() * len(second))] + given
            name = surname + given
        else:
            firsts = A.FIRST_FEMALE if female else A.FIRST_MALE
            first_name, surname = firsts[int(rand() * len(firsts))], A.LAST_NAMES[int(rand() * len(A.LAST_NAMES))]
            name, surname_py = f"{first_name} {surname}", f"{first_name}.{surname}".lower().replace("ü", "ue")
        gender = "" if rand() < 0.05 else ("female" if female else "male")
        # Where: in China (also an overseas Chinese's family home, where their Taobao orders went) and abroad.
        province, city, districts = _PLACES[int(rand() * len(_PLACES))]
        district = districts[int(rand() * len(districts))]
        address = "%s%d号%s%d栋%d单元%d室" % (
            V.STREETS[int(rand() * len(V.STREETS))], 1 + int(rand() * 300),
            V.COMMUNITIES[int(rand() * len(V.COMMUNITIES))], 1 + int(rand() * 30), 1 + int(rand() * 4),
            101 + int(rand() * 28) * 100 + int(rand() * 4))
        home = ("CN", province, city, district, "", f"{province}{city}{district}{address}")
        if abroad:
            country, state, town, postcode, streets = _ABROAD_PLACES[int(rand() * len(_ABROAD_PLACES))]
            postcode = postcode % (1 + int(rand() * 19))
            street = "%d %s" % (1 + int(rand() * 2400), streets[int(rand() * len(streets))])
            away = (country, state, town, "", postcode,
                    ", ".join(part for part in (street, town, f"{state} {postcode}".strip()) if part))
        prefix = V.MOBILE_PREFIXES[index % n_prefixes]
        local = "%s%08d" % (prefix, _scramble(index // n_prefixes, 48_271, ctx.sms_offset, 10**8))
        has_phone = chinese and rand() < 0.88
        masked = "" if has_phone or not chinese else local[:3] + "****" + local[-4:]
        birthday = None
        if rand() < 0.3:
            birthday = dt.date.fromordinal(717_000 + int(rand() * 15_000)).isoformat()  # 1964..2005
        b2b = not abroad and rand() < 0.02
        company = industry = size_text = model_text = ""
        if b2b:
            company = (city[:-1] if city.endswith("市") else city) + V.COMPANY_WORDS[int(rand() * 8)] + \
                V.COMPANY_KINDS[int(rand() * 4)]
            industry = V.INDUSTRIES[int(rand() * len(V.INDUSTRIES))]
            size_text = V.COMPANY_SIZES[int(rand() * len(V.COMPANY_SIZES))]
            model_text = V.BUSINESS_MODELS[int(rand() * len(V.BUSINESS_MODELS))]
        owner = staff[int(rand() * len(staff))] if (b2b or rand() < 0.05) else None

        # -- when, where and what they bought -------------------------------------------------------------------
        home_count, count = per_home[pos], per_home[pos] + per_abroad[pos]
        acquired = horizon + int((now - horizon) * (rand() ** 0.7))  # a growing shop: more recent customers
        active_until = acquired + int((now - acquired) * (rand() ** 0.5)) if count > 1 else acquired
        placed_times = sorted(acquired + int((active_until - acquired) * rand()) for _ in range(count - 1))
        if count:
            placed_times.insert(0, acquired)
        # The store of each order, oldest first: abroad, the Taobao orders come before the move; in China one
        # store, the other or (alternating) both.
        if abroad:
            choice = ctx.abroad[int(rand() * len(ctx.abroad))]
            order_stores = [ctx.domestic[0]] * home_count + [choice] * (count - home_count)
        elif len(ctx.domestic) < 2:
            order_stores = [ctx.domestic[0]] * count
        else:
            roll = rand()
            if not both_shown and count > 1:
                roll, both_shown = 1.0, True
            if roll < S.SECOND_ONLY:
                order_stores = [ctx.domestic[0 if roll < S.FIRST_ONLY else 1]] * count
            else:
                flip = int(rand() * 2)
                order_stores = [ctx.domestic[(n + flip) % 2] for n in range(count)]
        home_store = order_stores[0][0] if order_stores else (ctx.abroad if abroad else ctx.domestic)[0][0]
        first_placed = now
        paid_cny_cents = 0  # in yuan, to tag the big spenders across currencies
        paid_orders = 0
        last_paid = None
        any_refund = any_pending = couple = False
        completed_times: list[int] = []
        my_orders: list[int] = []
        for placed, (store, spec) in zip(placed_times, order_stores):
            k = order_start + order_pos
            oid = order_ids[order_pos]
            overseas_order = spec.abroad
            queue = showcase.get(store)
            if queue:
                status, age = queue.pop(0)
                placed = now - age
            else:
                status = _status_for_age(now - placed, rand)
            if placed < first_placed:
                first_placed = placed
            paid_at, shipped_at, delivered_at, completed_at, closed_at, shipment = _timeline(
                status, placed, now, rand, abroad=overseas_order)
            placed_s = fmt(placed)
            products = ctx.products[spec.currency]
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
            discount = 0
            if overseas_order:
                shipping = 0 if goods >= 4900 else 799  # free shipping from $49
                if goods >= 3000 and rand() < 0.15:
                    discount = goods // 10  # the WELCOME10 code
            else:
                shipping = 0 if goods >= 4900 or rand() < 0.6 else 600
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
                paid_cny_cents += (paid_cents - refunded) * (_USD_CNY if spec.currency == "USD" else 1)
                paid_orders += 1
                last_paid = placed if last_paid is None or placed > last_paid else last_paid
            any_pending = any_pending or status == PENDING
            updated = max(t for t in (placed, paid_at, shipped_at, delivered_at, completed_at, closed_at) if t)
            shipped_s = fmt(shipped_at) if shipped_at else None
            delivered_s = fmt(delivered_at) if delivered_at else None
            if completed_at:
                completed_times.append(completed_at)
            if overseas_order:
                ctx.numbers[store] += 1
                number, ship_to, receiver_phone = "#%d" % (1000 + ctx.numbers[store]), away, ""
                messages = A.BUYER_MESSAGES
            else:
                number, ship_to = _order_number(k, ctx.seed), home
                receiver_phone = local if has_phone else local[:3] + "****" + local[-4:]
                messages = V.BUYER_MESSAGES
            orders_rows.append((
                oid, ws, placed_s, fmt(updated), store, cid, number, status, spec.currency, _money(goods),
                _money(shipping), _money(discount), _money(paid_cents), _money(refunded), placed_s,
                fmt(paid_at) if paid_at else None, shipped_s, fmt(completed_at) if completed_at else None,
                fmt(closed_at) if closed_at else None, name, receiver_phone, ship_to[5],
                messages[int(rand() * len(messages))] if rand() < 0.1 else "", *ship_to[:5],
            ))
            if shipment:
                carriers = _ABROAD_CARRIERS if overseas_order else _CARRIERS
                carrier, pattern = carriers[int(rand() * len(carriers))]
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
        lives = away if abroad else home
        customers_rows.append((
            cid, ws, created_s, created_s, name, name.lower(), gender, birthday, lives[0], lives[1], lives[2],
            lives[3], street if abroad else address, company, industry, size_text, model_text,
            masked, stage, owner, "", None, lives[4],
        ))

        # -- identities and consent: the same phone, nick and email in every store they bought in -------------
        source = "shopify_order" if abroad and not chinese else "taobao_order"
        if has_phone:
            identities.append((ws, created_s, created_s, cid, "phone", "+86" + local, local[-4:], None))
            consents.append((ws, created_s, created_s, cid, "sms", rand() < 0.75, created_s, source))
        if chinese:
            nick = "%s%d" % (V.NICK_WORDS[int(rand() * len(V.NICK_WORDS))], _scramble(index, 7_919_993, 1, 10**8))
            identities.append((ws, created_s, created_s, cid, "buyer_nick", nick, nick[-4:].lower(), None))
            if rand() < 0.4:
                ouid = hashlib.md5(b"%d:%d" % (ctx.seed, index)).hexdigest()
                # Scoped to the store it came from: their first Chinese store.
                ouid_store = ctx.domestic[0][0] if abroad else home_store
                identities.append((ws, created_s, created_s, cid, "taobao_ouid", ouid, ouid[-4:], ouid_store))
        # Everyone abroad has an email (Shopify checks out with one); in China a quarter gave one.
        if abroad or rand() < 0.25:
            domains = _ABROAD_DOMAINS if abroad else _DOMAINS
            email = "%s%d@%s" % (surname_py, _scramble(index, 9_999_991, 3, 10**9),
                                 domains[int(rand() * len(domains))])
            identities.append((ws, created_s, created_s, cid, "email", email, email[-4:], None))
            consents.append((ws, created_s, created_s, cid, "email", rand() < 0.6, created_s, source))
        if chinese and rand() < 0.2:
            consents.append((ws, created_s, created_s, cid, "wechat", rand() < 0.8, created_s, "staff"))

        # -- tags -------------------------------------------------------------------------------------------------
        my_tags = []
        if paid_orders >= 5:
            my_tags.append("老客户")
        if paid_cny_cents >= 200_000:
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
        presale, aftersale = (A.PRESALE_NOTES, A.AFTERSALE_NOTES) if abroad else (V.PRESALE_NOTES,
                                                                                   V.AFTERSALE_NOTES)
        if rand() < (0.3 if count else 0.5):
            for _ in range(1 + int(rand() * 3) if count else 1):
                base = my_orders[int(rand() * len(my_orders))] if my_orders else created
                if my_orders and rand() < 0.5:
                    occurred = min(base + 3 * DAY + int(rand() * 9 * DAY), now - 60)
                    summary = aftersale[int(rand() * len(aftersale))]
                else:
                    occurred = max(base - 300 - int(rand() * 7200), horizon)
                    summary = presale[int(rand() * len(presale))]
                roll = rand()
                if abroad:
                    channel, kind = ("email", "email") if roll < 0.6 else ("shop_chat", "conversation")
                else:
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
        if completed_times and rand() < 0.04 and not abroad:  # the survey is in Chinese
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
