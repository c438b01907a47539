"""Load the real CDNOW transaction log (1997-01-01..1998-06-30) into a store of a workspace.

The master file has a header line and whitespace-separated columns: customer_id, date (YYYYMMDD), number_of_cds,
dollar_value. Each CDNOW customer becomes one customer with a store-scoped `buyer_id` identity (the zero-padded
id); each line becomes one completed, paid order with one "CD" line. The order number is
`<customer>-<date>-<position>` (position: 1-based index among that customer's lines on that date, in file order),
so loading the file again finds every order already there and writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import zoneinfo
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from guanxi.commerce.models import Order, OrderLine, OrderStatus
from guanxi.customers.models import Customer, Identity, IdentityKind, Lifecycle
from guanxi.demo import tables
from guanxi.demo.bulk import BulkWriter, progress_bar
from guanxi.workspaces.models import Platform, Store, Workspace

CDNOW_MASTER = Path(__file__).resolve().parent.parent / "data" / "cdnow" / "CDNOW_master.txt"
STORE_NAME = "CDNOW"
CHUNK = 10_000


@dataclasses.dataclass(frozen=True)
class CdnowLine:
    customer_id: str  # as written in the file, zero-padded ("00001")
    date: dt.date
    cds: int
    dollars: Decimal
    number: str  # the order number this line becomes


def read_cdnow(path: Path | str = CDNOW_MASTER) -> list[CdnowLine]:
    """The file's lines in file order, each with its order number; ValueError names the first bad line."""
    lines: list[CdnowLine] = []
    positions: dict[tuple[str, str], int] = defaultdict(int)
    with open(path, encoding="ascii") as handle:
        header = handle.readline().split()
        if header[:2] != ["customer_id", "date"]:
            raise ValueError(f"{path}: expected a header starting 'customer_id date', found {header!r}")
        for line_no, text in enumerate(handle, start=2):
            parts = text.split()
            if not parts:
                continue
            try:
                customer_id, day, cds, dollars = parts
                date = dt.date(int(day[:4]), int(day[4:6]), int(day[6:8]))
                line = (customer_id, date, int(cds), Decimal(dollars))
            except (ValueError, ArithmeticError):
                raise ValueError(f"{path}, line {line_no}: cannot read {text.strip()!r}") from None
            if line[2] < 0 or line[3] < 0:
                raise ValueError(f"{path}, line {line_no}: negative quantity or amount in {text.strip()!r}")
            positions[customer_id, day] += 1
            lines.append(CdnowLine(*line, number=f"{customer_id}-{day}-{positions[customer_id, day]}"))
    return lines


@dataclasses.dataclass(frozen=True)
class CdnowLoad:
    store: Store
    customers_created: int
    orders_created: int
    seconds: float


def _ensure_store(workspace: Workspace) -> Store:
    store = Store.all_workspaces.filter(workspace=workspace, name=STORE_NAME).first()
    if store is None:
        from guanxi.workspaces.services import store_create

        store = store_create(workspace=workspace, name=STORE_NAME, platform=Platform.OWN_SITE, currency="USD")
    return store


def load_cdnow(*, workspace: Workspace, path: Path | str = CDNOW_MASTER, progress: bool = False) -> CdnowLoad:
    """Load the CDNOW master file into the workspace's `CDNOW` store; what is already there is left alone.

    Dates become noon in the workspace's time zone, so each order shows on its CDNOW date on every screen. A
    customer's `created_at` is their first purchase.
    """
    started = time.perf_counter()
    lines = read_cdnow(path)
    store = _ensure_store(workspace)
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    noon: dict[dt.date, int] = {}

    def ts(date: dt.date) -> int:
        if date not in noon:
            noon[date] = int(dt.datetime.combine(date, dt.time(12), tzinfo=tz).timestamp())
        return noon[date]

    first_seen: dict[str, dt.date] = {}
    for line in lines:
        if line.customer_id not in first_seen or line.date < first_seen[line.customer_id]:
            first_seen[line.customer_id] = line.date

    writer = BulkWriter()
    now = writer.format_ts(int(timezone.now().timestamp()))
    ws = workspace.pk
    bar = progress_bar(progress, total=len(lines), desc="CDNOW orders")
    # References are the store, the workspace and customers found or made right here: safe to trust.
    with writer.transaction(trusted_references=True):
        # Lock the store row so two loaders of the same workspace run one after the other, not interleaved.
        Store.all_workspaces.select_for_update().filter(pk=store.pk).first()
        known = dict(
            Identity.all_workspaces.filter(workspace=workspace, store=store, kind=IdentityKind.BUYER_ID)
            .values_list("value", "customer_id")
        )
        missing = [cid for cid in first_seen if cid not in known]
        for start in range(0, len(missing), CHUNK):
            chunk = missing[start:start + CHUNK]
            ids = writer.reserve_ids(Customer, len(chunk))
            customer_rows, identity_rows = [], []
            for cid, pk in zip(chunk, ids):
                created = writer.format_ts(ts(first_seen[cid]))
                name = f"CDNOW customer {cid}"
                customer_rows.append((pk, ws, created, created, name, name.lower(), "", None, "US", "", "", "",
                                      "", "", "", "", "", "", Lifecycle.POTENTIAL.value, None, "", None))
                identity_rows.append((ws, now, now, pk, IdentityKind.BUYER_ID.value, cid, cid[-4:].lower(),
                                      store.pk))
                known[cid] = pk
            writer.insert(Customer, tables.CUSTOMER, customer_rows)
            writer.insert(Identity, tables.IDENTITY, identity_rows)

        existing = set(Order.all_workspaces.filter(store=store).values_list("number", flat=True))
        new_lines = [line for line in lines if line.number not in existing]
        bar.update(len(lines) - len(new_lines))
        for start in range(0, len(new_lines), CHUNK):
            chunk = new_lines[start:start + CHUNK]
            ids = writer.reserve_ids(Order, len(chunk))
            order_rows, line_rows = [], []
            for line, pk in zip(chunk, ids):
                at = writer.format_ts(ts(line.date))
                amount = str(line.dollars)
                order_rows.append((pk, ws, at, at, store.pk, known[line.customer_id], line.number,
                                   OrderStatus.COMPLETED.value, "USD", amount, "0", "0", amount, "0", at, at,
                                   None, at, None, "", "", "", ""))
                unit = str((line.dollars / line.cds).quantize(Decimal("0.01"))) if line.cds else amount
                line_rows.append((ws, at, at, pk, None, "", "CD", line.cds, unit, amount, None))
            writer.insert(Order, tables.ORDER, order_rows)
            writer.insert(OrderLine, tables.ORDER_LINE, line_rows)
            bar.update(len(chunk))
    bar.close()
    writer.analyze_if_grown({Customer: len(missing), Identity: len(missing), Order: len(new_lines),
                             OrderLine: len(new_lines)})
    return CdnowLoad(store=store, customers_created=len(missing), orders_created=len(new_lines),
                     seconds=time.perf_counter() - started)
