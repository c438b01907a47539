"""orders_import: one export file into one store, in one transaction, in chunks.

Buyers are matched to existing customers by phone, email or platform member id (Taobao nick, Alipay account:
across stores; a store's own customer id or a Shopify billing name: within the store). Masked phones are kept
for display only. Orders are upserted by (store, number): new ones created with their lines and shipment; a
changed status, paid amount or refund is updated in place with a note on the customer's timeline; the rest is
left alone, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import functools
import datetime as dt
import itertools
import zoneinfo
from pathlib import Path
from typing import Callable, Iterator

import polars as pl
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.utils import timezone

from guanxi.activities.models import Interaction, InteractionKind
from guanxi.commerce.models import Order, OrderLine, Shipment, ShipmentStatus
from guanxi.customers.identity import is_masked
from guanxi.customers.models import Channel, Consent, Customer, CustomerTag, Identity, Lifecycle, Tag
from guanxi.demo import tables
from guanxi.demo.bulk import BulkWriter, PreparedInsert
from guanxi.imports import addresses, columnar, customer_addresses, lookups, readers, staging
from guanxi.imports.buyer_keys import Key, buyer_keys
from guanxi.imports.models import ImportJob
from guanxi.imports.undo import ImportRecord
from guanxi.imports.readers import OpenedFile, OrderRow, RowError, open_orders
from guanxi.insight.tasks import refresh_after_import
from guanxi.workspaces.models import Store, Workspace

CHUNK = 2000  # orders whose buyers are resolved together (the fast path resolves its batches in these too)
KNOWN_KEYS = 500_000  # identity keys cached between chunks; past this the cache starts again from the database
assert columnar.BATCH_LINES % CHUNK == 0  # so a fast batch splits into the chunks the exact path would make
COMPARED = ("status", "paid_amount", "refunded_amount", "paid_at", "closed_at")
# The rows an import writes carry its job's id, which is how its undo finds them (guanxi/imports/undo.py).
ORDER_FIELDS = (*tables.ORDER_IMPORTED, "import_job_id")
CUSTOMER_FIELDS = (*tables.CUSTOMER_IMPORTED, "import_job_id")


@dataclasses.dataclass
class ImportResult:
    format: str = ""
    encoding: str = ""
    rows: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    customers_created: int = 0
    customers_matched: int = 0
    errors: list[dict] = dataclasses.field(default_factory=list)
    # {"line", "column", "message"}: cells read by a rule, not as written (local times in a DST gap or fold).
    warnings: list[dict] = dataclasses.field(default_factory=list)
    rejects_path: str = ""
    dry_run: bool = False

    def as_json(self) -> dict:
        return {key: getattr(self, key) for key in (
            "format", "rows", "orders_created", "orders_updated", "orders_unchanged", "customers_created",
            "customers_matched", "errors", "warnings")}


class ImportFailed(Exception):
    def __init__(self, result: ImportResult, error: RowError):
        super().__init__(str(error))
        self.result, self.error = result, error


class ImportBusy(Exception):
    """Another import holds this workspace: one import writes into a workspace at a time."""

    def __init__(self):
        super().__init__("another import is writing to this workspace; try again")


# pg_try_advisory_xact_lock(IMPORT_LOCK, workspace id) is held by the import writing into that workspace.
IMPORT_LOCK = 0x6775_616E  # "guan"


def _claim_workspace(workspace: Workspace) -> None:
    """Take the workspace's import lock for this transaction, or raise ImportBusy at once. On PostgreSQL an
    advisory lock (without it two imports into one store queued on the store's row for the other's whole run,
    and into two stores raced on the workspace's identities); on SQLite the IMMEDIATE transaction is the lock,
    and a second writer gets "database is locked" after the busy timeout (see `_busy`)."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [IMPORT_LOCK, workspace.pk])
        if not cursor.fetchone()[0]:
            raise ImportBusy


def _busy(error: OperationalError) -> bool:
    """Whether this is SQLite's answer to a second writer (another import holds the write lock)."""
    return "database is locked" in str(error) or "database table is locked" in str(error)


class _DryRun(Exception):
    pass


def neutralise(cell: str) -> str:
    """A cell made safe for spreadsheets: formulas (= + - @) become text."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def _keys(row: OrderRow, store: Store) -> list[Key]:
    """(kind, normalised value, store id or None) that identify the row's buyer, strongest first."""
    return buyer_keys(email=row.email, phone=row.phone, alipay=row.alipay, member_id=row.member_id,
                      member_kind=row.member_kind, name=row.name, number=row.number, store_id=store.pk)


ADDRESS_FIELDS = customer_addresses.ORDER_ADDRESS


def _new_customer(name: str, phone: str, address: str, parts: tuple[str, ...] = ("", "", "", "", "")) -> tuple:
    """A new customer's (name, display phone, address, *ADDRESS_FIELDS) from the order that introduced them: a
    masked phone is kept for display, an unmasked one only as an identity. (`_Engine.assign_addresses` gives
    them their latest order's address at the end of the import.)"""
    masked = phone if phone and is_masked(phone) else ""
    return name[:200], masked[:32], address[:300], *parts


def _row_address(row: OrderRow) -> tuple[str, ...]:
    return row.country, row.province, row.city, row.district, row.postal_code


def _orders_by_number(store: Store, numbers: list[str]):
    """The store's orders with these numbers, through the (store, number) unique index. The store names the
    workspace; with the tenant manager's extra workspace filter and a long IN list, SQLite's planner walks the
    workspace's whole date index instead (240 ms per chunk at 200,000 orders, growing with the store)."""
    return Order.all_workspaces.filter(store=store, number__in=numbers).order_by()


class _NewBuyers:
    """The customers and identities a chunk or batch adds, as columns, for one COPY each."""

    def __init__(self, job_id: int | None = None):
        self.job_id = job_id  # the import's ImportJob, stamped on each customer; None for a webhook
        self.ids: list[int] = []
        self.names: list[str] = []
        self.phones: list[str] = []
        self.addresses: list[str] = []
        self.parts: list[list[str]] = [[] for _ in ADDRESS_FIELDS]
        self.owners: list[int] = []
        self.kinds: list[str] = []
        self.values: list[str] = []
        self.stores: list[int | None] = []

    def customers(self, ids: list[int], buyers: list[tuple]) -> None:
        self.ids += ids
        for name, masked, address, *parts in buyers:
            self.names.append(name)
            self.phones.append(masked)
            self.addresses.append(address)
            for column, part in zip(self.parts, parts):
                column.append(part)

    def identities(self, rows: list[tuple[Key, int]]) -> None:
        for (kind, value, store_id), customer_id in rows:
            self.kinds.append(kind)
            self.values.append(value)
            self.stores.append(store_id)
            self.owners.append(customer_id)

    def write(self, writer: BulkWriter, *, workspace_id: int, now) -> None:
        _run_all(self.prepare(writer, workspace_id=workspace_id, now=now))

    def prepare(self, writer: BulkWriter, *, workspace_id: int, now) -> list[PreparedInsert]:
        """The COPYs of the customers and identities, made ready to run."""
        prepared = []
        stamp = str(now) if writer.postgres else now  # str() of an aware datetime keeps its offset
        stamped = [pl.lit(workspace_id, pl.Int64).alias("workspace"), pl.lit(stamp).alias("created_at"),
                   pl.lit(stamp).alias("updated_at")]
        empty, null = pl.lit(""), pl.lit(None, pl.Int64)
        if self.ids:
            prepared.append(writer.prepare_frame(Customer, CUSTOMER_FIELDS, pl.DataFrame({
                "id": pl.Series(self.ids, dtype=pl.Int64), "name": pl.Series(self.names, dtype=pl.String),
                "name_key": pl.Series([name.lower() for name in self.names], dtype=pl.String),
                "address": pl.Series(self.addresses, dtype=pl.String),
                "display_phone": pl.Series(self.phones, dtype=pl.String),
                **{name: pl.Series(column, dtype=pl.String) for name, column in zip(ADDRESS_FIELDS, self.parts)},
            }).select(
                "id", *stamped, "name", "name_key", empty.alias("gender"), pl.lit(None, pl.String).alias("birthday"),
                "country", "province", "city", "district",
                "address", empty.alias("company"), empty.alias("industry"), empty.alias("company_size"),
                empty.alias("business_model"), "display_phone", pl.lit(Lifecycle.POTENTIAL.value).alias("lifecycle"),
                null.alias("owner"), empty.alias("note"), null.alias("merged_into"), "postcode",
                pl.lit(self.job_id, pl.Int64).alias("import_job_id"),
            )))
        if self.values:
            prepared.append(writer.prepare_frame(Identity, tables.IDENTITY, pl.DataFrame({
                "customer": pl.Series(self.owners, dtype=pl.Int64), "kind": pl.Series(self.kinds, dtype=pl.String),
                "value": pl.Series(self.values, dtype=pl.String),
                "tail": pl.Series([value[-4:] for value in self.values], dtype=pl.String),
                "store": pl.Series(self.stores, dtype=pl.Int64),
            }).select(*stamped, "customer", "kind", "value", "tail", "store")))
        return prepared


class _Writes:
    """The COPYs of resolved batches, each sent from a thread while the main thread resolves the next batch.

    An import has one connection (one transaction), so the overlap is between Python and the server, not two
    statements: psycopg waits for the server without the interpreter lock, and each job's COPY text is made
    before it is sent (`BulkWriter.prepare_frame`), so the thread has nothing to do but feed the server. One job at a time, in order; a job's error comes out of the next `send` or `wait`. On SQLite
    (in-process, one writer) jobs run where they are sent."""

    def __init__(self, *, threaded: bool):
        self._pool = (concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-write")
                      if threaded else None)
        self._pending: concurrent.futures.Future | None = None

    def send(self, job: Callable[[], None]) -> None:
        self.wait()
        if self._pool is None:
            job()
        else:
            self._pending = self._pool.submit(job)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the job in flight (its error, if any, is raised unless one is already on its way out)."""
        try:
            self.wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)


class _Engine:
    def __init__(self, *, workspace: Workspace, store: Store, result: ImportResult,
                 record: ImportRecord | None = None):
        self.workspace, self.store, self.result = workspace, store, result
        # What the import changes besides its new rows, for its undo (None: a webhook, not recorded).
        self.record = record
        self.job_id = record.job.pk if record else None
        self.known: dict[Key, int] = {}  # identity key → customer id (a bounded cache of the database)
        self.absent: set[Key] = set()  # keys looked up and not found since `known` was last cleared
        # The connection itself, not django.db.connection: that names each thread's own, and writes come from two.
        self.writer = BulkWriter(connections[DEFAULT_DB_ALIAS])
        self.now = self.writer_ts(timezone.now())
        self.seen_customers: set[int] = set()
        self.new_customers: set[int] = set()
        # Customers whose address the import may have to change at the end: those with an order before this
        # import or more than one in it (a new customer with one order already has that order's address), and the
        # owners of existing orders whose empty address a row filled.
        self.address_customers: set[int] = set()
        self.number_spans: lookups.OrderNumberSpans | None = None  # made at the first fast batch
        self.unanalyzed: dict[type, int] = {Order: 0, Identity: 0}  # rows written since the last ANALYZE
        self.planned_rows: dict[type, float] = {}  # the planner's row count of each as of its last ANALYZE
        self.customer_ids: list[int] = []  # reserved for new customers, taken in order
        # The fast path's writes: the last resolved batch's (sent when the next batch has been looked up) and
        # the one in flight. Every key they write is in `known`, which is what lets lookups run before them.
        self.writes = _Writes(threaded=self.writer.postgres)
        self.unsent: Callable[[], None] | None = None
        # A staged import (guanxi.imports.staging) writes in slices and keeps what would change rows that existed
        # before it for `publish`: those changes, in order, and what later chunks must see of them.
        self.staged = False
        self.deferred: list[Callable[[], None]] = []
        self.pending_orders: dict[str, Order] = {}  # number → an order as its deferred update leaves it
        self.deferred_keys: dict[Key, int] = {}  # identities of existing customers not written yet
        self.deferred_identities: list[tuple[Key, int]] = []

    def write_slice(self):
        """One write transaction of a staged import; nothing (the caller's transaction) otherwise."""
        import contextlib

        return staging.write_slice(self.record.job) if self.staged else contextlib.nullcontext()

    def publish_work(self) -> None:
        """A staged import's deferred changes, applied inside `staging.publish`'s transaction."""
        for apply in self.deferred:
            apply()
        if self.deferred_identities:
            buyers = _NewBuyers(self.job_id)
            buyers.identities(self.deferred_identities)
            buyers.write(self.writer, workspace_id=self.workspace.pk, now=self.now)
        customer_addresses.take_latest_order_address(self.address_customers - self.new_customers,
                                                     connection=self.writer.connection,
                                                     now=self.writer_ts(timezone.now()))
        if self.record:
            self.record.flush()

    def settle(self) -> None:
        """Every write of this import in the database: before reading anything but identities (and before the
        commit)."""
        self._send()
        self.writes.wait()

    def _send(self) -> None:
        job, self.unsent = self.unsent, None
        if job is not None:
            self.writes.send(job)

    def close(self, *, quiet: bool = False) -> None:
        """Drop what is unsent and wait for the write in flight; `quiet`: without raising its error (the
        transaction is being rolled back for another one)."""
        self.unsent = None
        try:
            self.writes.close()
        except Exception:
            if not quiet:
                raise

    def _refresh_statistics(self) -> None:
        """ANALYZE the tables the lookups read once they grew by half. Without statistics (a new database, or
        rows autovacuum cannot see in this open transaction) PostgreSQL plans an identity lookup as a walk over
        every identity of the kind: 3,300 orders/s after a million orders, falling. ANALYZE inside the
        transaction counts its own rows. SQLite picks the unique index for these queries without statistics,
        and its ANALYZE reads whole tables, so it is left alone."""
        if not self.writer.postgres:
            return
        for model in self.unanalyzed:
            if model not in self.planned_rows:  # asked once, then after each ANALYZE: not a query per batch
                self.planned_rows[model] = lookups.planned_rows(model)
        if any(rows and self.planned_rows[model] * 0.5 < rows for model, rows in self.unanalyzed.items()):
            # The write in flight first (it holds the connection anyway); the batch not yet sent can wait: its
            # rows are counted at the next ANALYZE, and sending it now would empty the pipeline for nothing.
            self.writes.wait()
            for model in self.writer.analyze_if_grown(self.unanalyzed, fraction=0.5):
                self.unanalyzed[model] = 0
                del self.planned_rows[model]

    def writer_ts(self, value):
        """A datetime as the raw writer stores it: PostgreSQL takes it as it is; Django keeps SQLite's in UTC text."""
        if value is None or self.writer.postgres:
            return value
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")

    def _lookup(self, keys: set[Key]) -> None:
        """Bring the customers of these keys into `known`. A key absent from the database stays absent until this
        import inserts it, and every insert goes into `known` first, so `absent` need not be asked again."""
        missing = keys.difference(self.known).difference(self.absent)  # set operations reuse the keys' hashes
        by_kind: dict[tuple[str, int | None], list[str]] = {}
        for kind, value, store_id in missing:
            by_kind.setdefault((kind, store_id), []).append(value)
        for (kind, store_id), values in by_kind.items():
            for value, customer_id in lookups.identity_customers(workspace_id=self.workspace.pk, kind=kind,
                                                                 store_id=store_id, values=values):
                self.known[kind, value, store_id] = customer_id
        self.absent.update(missing.difference(self.known))

    def _reserve_customer_ids(self, count: int) -> None:
        """At least `count` customer ids in the pool (one query, so resolving a batch needs the connection for
        nothing; the pool's rest carries over, at most one batch's worth is left unused at the end)."""
        if len(self.customer_ids) < count:
            self.customer_ids += self.writer.reserve_ids(Customer, count - len(self.customer_ids))

    def _customers(self, row_keys: list[list[Key]], buyer: Callable[[int], tuple[str, str, str]],
                   out: _NewBuyers) -> list[int]:
        """The customer id of each row's buyer; customers and identities for keys not known yet go into `out`.
        `buyer(i)` gives row i's (name, masked phone, address) for a new customer. The rows' keys must have
        been looked up (`_lookup`)."""
        known, seen = self.known, self.seen_customers
        pending: list[tuple[str, str, str]] = []
        placeholder: dict[Key, int] = {}  # key → index in pending
        targets: list[int] = []  # a customer id, or -1 - index in pending
        new_identities: list[tuple[Key, int]] = []  # (key, customer id or -1 - index in pending)
        repeated: set[int] = set()  # indexes in pending with more than one row
        matched = 0
        for i, keys in enumerate(row_keys):
            customer_id = None
            for key in keys:
                customer_id = known.get(key)
                if customer_id is not None:
                    break
            if customer_id is not None:
                targets.append(customer_id)
                self.address_customers.add(customer_id)
                if customer_id not in seen:
                    seen.add(customer_id)
                    if customer_id not in self.new_customers:
                        matched += 1
                if len(keys) > 1:  # a single key is the one just found
                    for key in keys:
                        if key not in known and key not in placeholder:
                            if self.staged and customer_id not in self.new_customers:
                                self.deferred_identities.append((key, customer_id))
                                self.deferred_keys[key] = customer_id
                            else:
                                new_identities.append((key, customer_id))
                            known[key] = customer_id
                            if self.record and customer_id not in self.new_customers:
                                self.record.identity(customer_id, *key)
                continue
            index = None
            for key in keys:
                index = placeholder.get(key)
                if index is not None:
                    break
            if index is None:
                index = len(pending)
                pending.append(buyer(i))
            else:
                repeated.add(index)
            ref = -1 - index
            for key in keys:
                if key not in placeholder:
                    placeholder[key] = index
                    new_identities.append((key, ref))
            targets.append(ref)
        self.result.customers_matched += matched
        self._reserve_customer_ids(len(pending))
        ids, self.customer_ids = self.customer_ids[:len(pending)], self.customer_ids[len(pending):]
        out.customers(ids, pending)
        self.result.customers_created += len(pending)
        self.new_customers.update(ids)
        self.address_customers.update(ids[index] for index in repeated)
        seen.update(ids)
        for key, index in placeholder.items():
            known[key] = ids[index]
        # Every key here was looked up in this transaction and not found, so these inserts cannot collide
        # (a concurrent import adding the same phone at the same moment makes this one fail as a whole).
        out.identities([(key, ref if ref >= 0 else ids[-1 - ref]) for key, ref in new_identities])
        self.unanalyzed[Identity] += len(new_identities)
        return [ref if ref >= 0 else ids[-1 - ref] for ref in targets]

    def _bound_cache(self) -> None:
        """A cache of the database, so bounded (memory stays flat). Cleared only once every write is in the
        database: a key written but still on its way would otherwise be looked up as absent."""
        if len(self.known) + len(self.absent) > KNOWN_KEYS:
            self.settle()
            self.known.clear()
            self.absent.clear()
            self.known.update(self.deferred_keys)  # not in the database until the publish

    def _consents(self, rows: list[OrderRow], customer_ids: list[int]) -> None:
        """Shopify's Accepts Marketing: the email consent as of the buyer's latest order in the file."""
        wanted: dict[int, OrderRow] = {}
        for row, customer_id in zip(rows, customer_ids):
            if row.accepts_marketing is None or not row.email:
                continue
            if customer_id not in wanted or row.placed_at >= wanted[customer_id].placed_at:
                wanted[customer_id] = row
        if not wanted:
            return
        current = {c.customer_id: c for c in Consent.objects.filter(channel=Channel.EMAIL, customer_id__in=wanted)}
        created, changed = [], []
        for customer_id, row in wanted.items():
            consent = current.get(customer_id)
            if consent is None:
                created.append(Consent(workspace=self.workspace, customer_id=customer_id, channel=Channel.EMAIL,
                                       granted=row.accepts_marketing, recorded_at=row.placed_at,
                                       source=f"{self.result.format}_export"))
            elif consent.granted != row.accepts_marketing and row.placed_at >= consent.recorded_at:
                if self.record:
                    self.record.consent_changed(consent)
                consent.granted, consent.recorded_at = row.accepts_marketing, row.placed_at
                changed.append(consent)
        Consent.objects.bulk_create(created)
        Consent.objects.bulk_update(changed, ["granted", "recorded_at"])
        if self.record:
            for consent in created:
                self.record.consent_created(consent)

    def _tags(self, rows: list[OrderRow], customer_ids: list[int]) -> None:
        """Shopify's Tags become the buyer's tags; an import adds tags and never removes one."""
        pairs = {(customer_id, name) for row, customer_id in zip(rows, customer_ids) for name in row.tags}
        if not pairs:
            return
        names = {name for _, name in pairs}
        before = set(Tag.objects.filter(name__in=names).values_list("id", flat=True)) if self.record else set()
        Tag.objects.bulk_create([Tag(workspace=self.workspace, name=name) for name in names], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "id"))
        if self.record:
            given = set(CustomerTag.objects.filter(customer_id__in={c for c, _ in pairs}, tag_id__in=tag_ids.values())
                        .values_list("customer_id", "tag_id"))
            for tag_id in set(tag_ids.values()) - before:
                self.record.tag_created(tag_id)
            for customer_id, name in pairs:
                if (customer_id, tag_ids[name]) not in given:
                    self.record.tag_given(customer_id, tag_ids[name])
        CustomerTag.objects.bulk_create([
            CustomerTag(workspace=self.workspace, customer_id=customer_id, tag_id=tag_ids[name])
            for customer_id, name in pairs
        ], ignore_conflicts=True)

    def chunk(self, rows: list[OrderRow]) -> None:
        # A number repeated within the file: its last row is the order's latest state.
        latest = {row.number: row for row in rows}
        rows = list(latest.values())
        self.settle()
        row_keys = [_keys(row, self.store) for row in rows]
        self._lookup({key for keys in row_keys for key in keys})
        buyers = _NewBuyers(self.job_id)
        customer_ids = self._customers(row_keys, lambda i: _new_customer(
            rows[i].name, rows[i].phone, rows[i].receiver_address, _row_address(rows[i])), buyers)
        buyers.write(self.writer, workspace_id=self.workspace.pk, now=self.now)
        self._bound_cache()
        if self.staged:  # consents and tags are read and written at the publish, chunk by chunk as here
            marked = [(row, customer_id) for row, customer_id in zip(rows, customer_ids)
                      if row.tags or (row.accepts_marketing is not None and row.email)]
            if marked:
                kept_rows, kept_ids = [row for row, _ in marked], [customer_id for _, customer_id in marked]
                self.deferred.append(functools.partial(self._consents, kept_rows, kept_ids))
                self.deferred.append(functools.partial(self._tags, kept_rows, kept_ids))
        else:
            self._consents(rows, customer_ids)
            self._tags(rows, customer_ids)
        existing = {order.number: order for order in
                    _orders_by_number(self.store, list(latest))}
        if self.pending_orders:  # as the deferred updates of earlier chunks leave them
            existing.update((number, self.pending_orders[number]) for number in latest
                            if number in self.pending_orders)
        new_orders, changed, notes, refilled = [], [], [], []
        now = timezone.now()
        ts = self.writer_ts
        for row, customer_id in zip(rows, customer_ids):
            values = dict(status=row.status, paid_amount=row.paid_amount, refunded_amount=row.refunded_amount,
                          paid_at=row.paid_at, closed_at=row.closed_at)
            order = existing.get(row.number)
            if order is None:
                new_orders.append((row, customer_id))
                continue
            if any(_row_address(row)) and not any(getattr(order, field) for field in ADDRESS_FIELDS):
                # Imported before orders kept their address: a re-import completes it, as no change of the order.
                for field, value in zip(ADDRESS_FIELDS, _row_address(row)):
                    setattr(order, field, value)
                refilled.append(order)
                self.address_customers.add(order.customer_id)
            diffs = [(field, getattr(order, field), value) for field, value in values.items()
                     if getattr(order, field) != value]
            if not diffs:
                self.result.orders_unchanged += 1
                continue
            if self.record:
                self.record.order_changed(order, [field for field, _, _ in diffs])
            for field, _, value in diffs:
                setattr(order, field, value)
            order.updated_at = now
            changed.append(order)
            text = "; ".join(f"{field}: {old} → {new}" for field, old, new in diffs)
            notes.append(Interaction(workspace=self.workspace, customer_id=order.customer_id,
                                     kind=InteractionKind.NOTE, author=None, occurred_at=now,
                                     summary=f"Order {order.number} changed by import"[:300], body=text))
        # New rows go in as tuples through COPY (PostgreSQL) or executemany (SQLite): building model instances and
        # Django's bulk_create cost ten times the database's own work here. Values were validated by the reader.
        ids = self.writer.reserve_ids(Order, len(new_orders))
        ws, stamp, store_id, currency = self.workspace.pk, self.now, self.store.pk, self.store.currency
        order_rows, lines, shipments = [], [], []
        for pk, (row, customer_id) in zip(ids, new_orders):
            order_rows.append((
                pk, ws, stamp, stamp, store_id, customer_id, row.number, row.status, row.currency or currency,
                row.goods_amount, row.shipping_amount, row.discount_amount, row.paid_amount, row.refunded_amount,
                ts(row.placed_at), ts(row.paid_at), None, None, ts(row.closed_at), row.receiver_name,
                row.receiver_phone, row.receiver_address, row.buyer_message, *_row_address(row), self.job_id,
            ))
            for line in row.lines:
                lines.append((ws, stamp, stamp, pk, None, line.sku, line.title, line.quantity, line.unit_price,
                              line.unit_price * line.quantity, None))
            if row.tracking_number:
                shipments.append((ws, stamp, stamp, pk, row.carrier, row.tracking_number,
                                  ShipmentStatus.IN_TRANSIT.value, ts(row.paid_at), None))
        self.writer.insert(Order, ORDER_FIELDS, order_rows)
        self.writer.insert(OrderLine, tables.ORDER_LINE, lines)
        self.writer.insert(Shipment, tables.SHIPMENT, shipments)
        if self.staged:
            self.pending_orders.update((order.number, order) for order in (*changed, *refilled))
            if changed or refilled:
                self.deferred.append(functools.partial(self._update_orders, changed, notes, refilled))
        else:
            self._update_orders(changed, notes, refilled)
            if self.record:  # nothing else is writing now (settled above)
                self.record.flush()
        self.result.orders_created += len(new_orders)
        self.result.orders_updated += len(changed)
        self.unanalyzed[Order] += len(new_orders)
        self._refresh_statistics()

    def _update_orders(self, changed: list[Order], notes: list[Interaction], refilled: list[Order]) -> None:
        """Write a chunk's changes to orders in the store: compared fields with their timeline notes, and
        addresses filled in. `Order.all_workspaces`: the store names the workspace, and a staged import's own
        orders are still hidden from the tenant manager when a later chunk changes them."""
        if changed:
            Order.all_workspaces.bulk_update(changed, [*COMPARED, "updated_at"])
            Interaction.objects.bulk_create(notes)
            if self.record:
                self.record.notes(notes)
        if refilled:
            Order.all_workspaces.bulk_update(refilled, list(ADDRESS_FIELDS))

    def assign_addresses(self) -> None:
        """Each customer this import touched gets the address of their latest order that has one (by placed_at,
        then id), unless staff set theirs by hand (`address_set_by_staff`). Once, after every write, so the exact
        and the fast path (which write a new customer with the address of the order that introduced them) end
        alike; only customers whose address differs are written."""
        self.settle()
        if self.staged:  # the import's own customers now, in slices; the others' at the publish
            ids = sorted(self.address_customers & self.new_customers)
            for start in range(0, len(ids), staging.SLICE_ROWS):
                with self.write_slice():
                    customer_addresses.take_latest_order_address(ids[start:start + staging.SLICE_ROWS],
                                                                 connection=self.writer.connection,
                                                                 now=self.writer_ts(timezone.now()))
            return
        customer_addresses.take_latest_order_address(self.address_customers,
                                                     connection=self.writer.connection,
                                                     now=self.writer_ts(timezone.now()))

    def fast_chunk(self, batch: columnar.Batch) -> bool:
        """Take a batch from the columnar fast path; False, with nothing of it written, if one of its orders is in
        the store already (an update: the exact path compares and notes it). Buyers are resolved in chunks of
        CHUNK orders, as the exact path does, so both give the same customers.

        The batch is looked up, then the previous batch's writes go to the database (from a thread) while this
        one is resolved in Python; its own writes wait for the next batch or `settle`. Lookups may run before
        earlier writes because every key those write is in `known` until `_bound_cache` settles them."""
        frame = batch.frame
        low, high = frame["number"].min(), frame["number"].max()
        if self.number_spans is None:
            self.number_spans = lookups.OrderNumberSpans(store_id=self.store.pk)
        if self.number_spans.may_hold(low, high):
            self.settle()
            if lookups.any_order_numbered(store_id=self.store.pk, numbers=frame["number"].to_list()):
                return False
        self.number_spans.add(low, high)
        self._refresh_statistics()
        self._lookup(set(itertools.chain.from_iterable(batch.keys)))  # one round of queries for the whole batch
        order_ids = self.writer.reserve_ids(Order, len(frame))
        self._reserve_customer_ids(len(frame))  # resolving needs no query, so it overlaps the writes
        self._send()
        names, phones, addresses = (frame[name].to_list() for name in ("name", "phone", "receiver_address"))
        parts = list(zip(*(frame[name].to_list() for name in ADDRESS_FIELDS)))
        buyers = _NewBuyers(self.job_id)
        customer_ids: list[int] = []
        for start in range(0, len(frame), CHUNK):
            customer_ids += self._customers(batch.keys[start:start + CHUNK], lambda i, start=start: _new_customer(
                names[start + i], phones[start + i], addresses[start + i], parts[start + i]), buyers)
        # The COPY text is made here, while the write before runs: the writes thread then only feeds the server.
        inserts = self._prepare_batch(frame, buyers, order_ids, customer_ids)
        self.unsent = functools.partial(self._run_sliced if self.staged else _run_all, inserts)
        self.result.rows += len(frame)
        self.result.orders_created += len(frame)
        self.result.warnings += batch.warnings
        self.unanalyzed[Order] += len(frame)
        self._bound_cache()
        return True

    def _run_sliced(self, inserts: list[PreparedInsert]) -> None:
        """A staged fast batch's inserts, table by table in the order given (customers before the orders that
        point to them), in pieces of SLICE_ROWS rows: as many pieces per transaction as fit in SLICE_SECONDS.
        Each commit costs (the WAL gets the touched index pages again), so fewer, fuller slices are faster."""
        import time

        parts = [part for insert in inserts for part in insert.split(staging.SLICE_ROWS)]
        done = 0
        while done < len(parts):
            with self.write_slice():
                started = time.perf_counter()
                while done < len(parts) and time.perf_counter() - started < staging.SLICE_SECONDS:
                    parts[done].run()
                    done += 1

    def _prepare_batch(self, frame: pl.DataFrame, buyers: _NewBuyers, order_ids: list[int],
                       customer_ids: list[int]) -> list[PreparedInsert]:
        """A fast batch's rows, column for column as `chunk` writes them, ready to run on the writes thread."""
        inserts = buyers.prepare(self.writer, workspace_id=self.workspace.pk, now=self.now)
        ids = pl.Series(order_ids, dtype=pl.Int64)
        stamp = str(self.now) if self.writer.postgres else self.now  # str() of an aware datetime keeps its offset
        suffix = "+00" if self.writer.postgres else ""  # naive UTC text on SQLite, as writer_ts makes it

        def ts(name: str) -> pl.Expr:
            return pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S") + pl.lit(suffix)

        stamped = [pl.lit(self.workspace.pk).alias("workspace"), pl.lit(stamp).alias("created_at"),
                   pl.lit(stamp).alias("updated_at")]
        orders = frame.with_columns(id=ids, customer=pl.Series(customer_ids, dtype=pl.Int64)).select(
            "id", *stamped, pl.lit(self.store.pk).alias("store"), "customer", "number", "status",
            pl.when(pl.col("currency") == "").then(pl.lit(self.store.currency)).otherwise("currency").alias("currency"),
            "goods", "shipping", "discount", "paid", "refunded", ts("placed_at"), ts("paid_at"),
            pl.lit(None, pl.String).alias("shipped_at"), pl.lit(None, pl.String).alias("completed_at"),
            ts("closed_at"), "receiver_name", "receiver_phone", "receiver_address", "buyer_message",
            *ADDRESS_FIELDS, pl.lit(self.job_id, pl.Int64).alias("import_job_id"),
        )
        inserts.append(self.writer.prepare_frame(Order, ORDER_FIELDS, orders))
        shipments = frame.with_columns(order=ids).filter(pl.col("tracking") != "").select(
            *stamped, "order", "carrier", "tracking", pl.lit(ShipmentStatus.IN_TRANSIT.value).alias("status"),
            ts("paid_at"), pl.lit(None, pl.String).alias("delivered_at"),
        )
        inserts.append(self.writer.prepare_frame(Shipment, tables.SHIPMENT, shipments))
        return inserts


def _run_all(inserts: list[PreparedInsert]) -> None:
    """Run prepared inserts in order (on the writes thread: raw connection only, no Django cursor)."""
    for insert in inserts:
        insert.run()


def _write_rejects(path: Path, rejects: list[RowError]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "reason", "row"])
        for error in rejects:
            writer.writerow([error.line, neutralise(error.column), neutralise(error.message),
                             *(neutralise(cell) for cell in (error.row or []))])


def _fast_then_exact(opened: OpenedFile, engine: _Engine, progress) -> Iterator[OrderRow | RowError]:
    """Batches of the file through the columnar fast path while each one qualifies (columnar.Plan.parse) and
    holds only new orders; from the first that does not, the rest of the file as the exact reader's rows (and
    errors) for the caller's chunks. The hand-over is at an order boundary with no error seen yet, so the exact
    reader starts in the state it would have been in anyway.

    A CSV export is first read as text chunks by Polars (`columnar.TextBatches`); from the first chunk that is
    not plain enough for that, record by record by the csv module, still in columnar batches. A worker thread
    parses the next batch while this one is resolved (Polars releases the interpreter)."""
    plan = columnar.plan_for(opened, store_id=engine.store.pk)
    if plan is None:
        yield from opened.rows
        return
    number_at = plan.index["order_number"] if opened.format == "generic" else None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-parse") as parser:
        records = opened.lines
        text = columnar.TextBatches.after_header(opened.path, opened.encoding, opened.header,
                                                 size=columnar.BATCH_LINES, number_at=number_at)
        if text is not None:
            how, offset, line = _text_batches(text, plan, engine, parser, progress)
            if how == "done":
                return
            records = readers.records_from(opened.path, opened.encoding, offset=offset, first_line=line)
            if how == "exact":
                yield from opened.read(records)
                return
        batches = columnar.Batches(records, size=columnar.BATCH_LINES, number_at=number_at)
        ahead: tuple[list, concurrent.futures.Future] | None = None  # records read, and their parsing
        while True:
            records = batches.take()
            parsing = parser.submit(plan.parse, records) if records and batches.error is None else None
            if ahead is not None:
                previous, parsed = ahead
                batch = parsed.result()
                if batch is None or not engine.fast_chunk(batch):
                    yield from opened.read(itertools.chain(previous, records, batches.rest()))
                    return
                if progress:
                    progress(batch.lines)
            if parsing is None:  # the end of the file, or a record only the exact reader may report
                yield from opened.read(itertools.chain(records, batches.rest()))
                return
            ahead = records, parsing


def _text_batches(text: columnar.TextBatches, plan: columnar.Plan, engine: _Engine,
                  parser: concurrent.futures.Executor, progress) -> tuple[str, int, int]:
    """The file's text chunks through the fast path, each parsed while the one before is resolved. Returns
    ("done", …) at the end of the file, or where the rest must be read record by record: ("records", byte
    offset, line) still in batches, ("exact", offset, line) by the exact reader."""
    ahead: tuple[columnar.Chunk, concurrent.futures.Future] | None = None
    try:
        while True:
            chunk = text.take()
            parsing = parser.submit(plan.parse_text, chunk) if chunk is not None else None
            if ahead is not None:
                previous, parsed = ahead
                batch = parsed.result()
                how = ("records" if batch is columnar.UNREADABLE else
                       "exact" if batch is None or not engine.fast_chunk(batch) else None)
                if how is not None:
                    if parsing is not None:
                        concurrent.futures.wait([parsing])
                    return how, previous.offset, previous.first_line
                if progress:
                    progress(batch.lines)
            if parsing is None:
                return "done", 0, 0
            ahead = chunk, parsing
    finally:
        text.close()


def _import_rows(opened: OpenedFile, engine: _Engine, result: ImportResult, rejects: list[RowError], *,
                 on_error: str, progress) -> None:
    """Every row of the file through the engine, inside the import's transaction, all of it written at the end."""
    if not engine.staged:  # one import per store at a time (a staged one holds its workspace's staging lease)
        Store.objects.select_for_update().filter(pk=engine.store.pk).first()
    chunk: list[OrderRow] = []
    for item in _fast_then_exact(opened, engine, progress):
        if isinstance(item, RowError):
            result.errors.append(item.as_dict())
            if on_error != "skip":
                raise item
            rejects.append(item)
            continue
        result.rows += 1
        result.warnings += item.warnings
        chunk.append(item)
        if len(chunk) >= CHUNK:
            with engine.write_slice():
                engine.chunk(chunk)
            if progress:
                progress(len(chunk))
            chunk = []
    if chunk:
        with engine.write_slice():
            engine.chunk(chunk)
        if progress:
            progress(len(chunk))
    engine.assign_addresses()


def orders_import(*, workspace: Workspace, store: Store, path: str | Path, items_path: str | Path | None = None,
                  fmt: str | None = None, dry_run: bool = False, on_error: str = "abort",
                  rejects_path: str | Path | None = None, column_map: dict | None = None,
                  progress=None, job: ImportJob | None = None,
                  on_publish: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Import one export into `store`. Nothing of it is visible before it has all been written: with
    on_error="abort" the first bad row raises ImportFailed and nothing is written; with "skip" bad rows go to the
    reject CSV (default `<path>.rejects.csv`). With dry_run everything is checked and counted, then rolled back.
    With `job` (the import's saved ImportJob) what it creates and changes is recorded for
    `guanxi.imports.undo.import_undo`. `on_publish(result)` runs in the transaction that makes the import
    visible (to mark its job done with it).

    On PostgreSQL, or inside a caller's transaction, or without a job, the whole file is one transaction. On
    SQLite an import with a job is staged (guanxi.imports.staging): written in short transactions, invisible
    until one short transaction publishes it, so other writers wait at most a slice."""
    result = ImportResult(dry_run=dry_run)
    tz = zoneinfo.ZoneInfo(workspace.time_zone)
    rejects: list[RowError] = []
    try:
        opened = open_orders(path, fmt=fmt, tz=tz, items_path=items_path, column_map=column_map)
        result.format, result.encoding = opened.format, opened.encoding
        engine = _Engine(workspace=workspace, store=store, result=result,
                         record=ImportRecord(job) if job is not None and not dry_run else None)
        if engine.record is not None and staging.usable():
            _staged(opened, engine, result, rejects, on_error=on_error, progress=progress, on_publish=on_publish)
        else:
            _whole(opened, engine, result, rejects, on_error=on_error, progress=progress, on_publish=on_publish)
    except _DryRun:
        pass
    except OperationalError as error:
        if _busy(error):
            raise ImportBusy from None
        raise
    except RowError as error:
        if not result.errors:
            result.errors.append(error.as_dict())
        raise ImportFailed(result, error) from None
    if rejects and not dry_run:
        target = Path(rejects_path or f"{path}.rejects.csv")
        _write_rejects(target, rejects)
        result.rejects_path = str(target)
    return result


def _whole(opened: OpenedFile, engine: _Engine, result: ImportResult, rejects: list[RowError], *, on_error: str,
           progress, on_publish) -> None:
    """The import as one transaction (PostgreSQL; a dry run; inside a caller's transaction)."""
    # PostgreSQL checks Django's deferred foreign keys at COMMIT, one trigger event per row: as costly as the
    # inserts. Every reference this import writes is to a row it made or looked up in this transaction (with
    # the store locked), so where the role may, those checks are skipped; unique and check constraints stay.
    writer = BulkWriter()
    with writer.transaction(trusted_references=True):
        _claim_workspace(engine.workspace)
        # Nothing may write on the connection once the transaction ends, nor a write's error hide this one.
        try:
            _import_rows(opened, engine, result, rejects, on_error=on_error, progress=progress)
        except BaseException:
            engine.close(quiet=True)
            raise
        engine.close()
        if engine.record:
            engine.record.flush()
        if result.dry_run:
            raise _DryRun
        writer.durable_commit()  # loading ran with synchronous_commit off; the commit that shows it may not
        if on_publish:
            on_publish(result)
        if result.orders_created or result.orders_updated:
            # New money changes scores, the dashboard and score-based segments: queue the analytics refresh.
            transaction.on_commit(functools.partial(refresh_after_import, engine.workspace.pk))


def _staged(opened: OpenedFile, engine: _Engine, result: ImportResult, rejects: list[RowError], *, on_error: str,
            progress, on_publish) -> None:
    """The import in slices behind its job's staging marker, then published (SQLite, see guanxi.imports.staging).
    Any error discards what was staged before it is raised."""
    job = engine.record.job
    staging.begin(job)
    engine.staged = True
    try:
        try:
            with engine.writer.sqlite_cache():  # the bulk page cache across the slices
                _import_rows(opened, engine, result, rejects, on_error=on_error, progress=progress)
        except BaseException:
            engine.close(quiet=True)
            raise
        engine.close()

        def apply() -> None:
            engine.publish_work()
            if on_publish:
                on_publish(result)
            if result.orders_created or result.orders_updated:
                transaction.on_commit(functools.partial(refresh_after_import, engine.workspace.pk))

        staging.publish(job, apply)
    except BaseException:
        try:
            staging.discard(job)
        except Exception:  # noqa: BLE001 - the import's own error matters; the rows stay hidden for the sweep
            pass
        raise


def shopify_payload_row(payload: dict, *, tz: zoneinfo.ZoneInfo) -> OrderRow:
    """An OrderRow from a Shopify order webhook body (orders/create, orders/updated); RowError if unreadable.

    A value no column can hold (NUL or a lone surrogate in text, a quantity beyond the quantity column, an amount
    beyond the money columns' 14 digits) is a RowError naming it (e.g. line_items[0].quantity): the view answers
    422, which tells Shopify not to send the same body again, instead of a 500 it would retry for days."""
    from decimal import Decimal

    from guanxi.api.input_limits import MAX_INT32, json_problems
    from guanxi.commerce.models import MONEY
    from guanxi.imports.readers import (MONEY_STATUSES, SHOPIFY_MONEY, SHOPIFY_NO_MONEY, CellError, LineRow,
                                        parse_datetime, parse_int, parse_money)

    def fail(column: str, message: str):
        return RowError(path="shopify webhook", line=1, column=column, message=message)

    money_limit = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"])

    def money(column: str, value) -> Decimal:
        try:
            amount = parse_money(str(value or "0"))
        except CellError as exc:
            raise fail(column, str(exc)) from None
        if abs(amount) >= money_limit:
            raise fail(column, f"the amount {value} is beyond what an amount column holds (< {money_limit})")
        return amount

    def quantity(column: str, value) -> int:
        try:
            number = parse_int(str(value or 1))
        except CellError as exc:
            raise fail(column, str(exc)) from None
        if not 0 <= number <= MAX_INT32:
            raise fail(column, f"the quantity {value} is beyond what the quantity column holds (0 to {MAX_INT32})")
        return number

    if problems := json_problems(payload, max_items=None):  # an order may have any number of lines
        column, messages = next(iter(problems.items()))
        raise fail(column, messages[0])
    try:
        number = str(payload.get("name") or "").strip()
        if not number:
            raise fail("name", "the order name is missing")
        financial = str(payload.get("financial_status") or "").lower()
        status = SHOPIFY_MONEY.get(financial) or SHOPIFY_NO_MONEY.get(financial)
        if status is None:
            raise fail("financial_status", f"unknown financial status “{financial}”")
        cancelled = parse_datetime(str(payload.get("cancelled_at") or ""), tz)
        if cancelled and status not in SHOPIFY_MONEY.values():
            status = "closed"
        total = money("total_price", payload.get("total_price"))
        refunded = sum((money(f"refunds[{r}].transactions[{i}].amount", t.get("amount"))
                        for r, refund in enumerate(payload.get("refunds") or [])
                        for i, t in enumerate(refund.get("transactions") or []) if t.get("kind", "refund") == "refund"),
                       Decimal("0"))
        if refunded >= money_limit:
            raise fail("refunds", f"the refunds add up to more than an amount column holds (< {money_limit})")
        if len(number) > readers.NUMBER_LENGTH:
            raise fail("name", f"the order name is longer than {readers.NUMBER_LENGTH} characters")
        billing = payload.get("billing_address") or {}
        shipping = payload.get("shipping_address") or billing
        country = addresses.country_code(str(shipping.get("country_code") or shipping.get("country") or ""))
        if country is None:
            raise fail("shipping_address", "the country is not an ISO 3166 code")
        customer = payload.get("customer") or {}
        name = billing.get("name") or " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
        row = OrderRow(
            line=1, number=number, status=status, currency=str(payload.get("currency") or "")[:3],
            placed_at=parse_datetime(str(payload.get("created_at") or ""), tz, required=True),
            paid_at=parse_datetime(str(payload.get("processed_at") or ""), tz) if status in MONEY_STATUSES else None,
            closed_at=cancelled, paid_amount=total if status in MONEY_STATUSES else Decimal("0"),
            goods_amount=money("subtotal_price", payload.get("subtotal_price")),
            discount_amount=money("total_discounts", payload.get("total_discounts")),
            refunded_amount=refunded, email=str(payload.get("email") or ""),
            phone=str(billing.get("phone") or payload.get("phone") or customer.get("phone") or ""),
            name=str(name or ""), member_kind="billing_name",
            accepts_marketing=payload.get("buyer_accepts_marketing"), buyer_message=str(payload.get("note") or ""),
            receiver_name=str(shipping.get("name") or "")[:100], receiver_phone=str(shipping.get("phone") or "")[:32],
            receiver_address=", ".join(str(shipping.get(key)) for key in ("address1", "address2", "city", "zip")
                                       if shipping.get(key))[:300],
            country=country, province=str(shipping.get("province_code") or shipping.get("province") or "")[:50],
            city=str(shipping.get("city") or "")[:50], postal_code=str(shipping.get("zip") or "")[:20],
            lines=[LineRow(title=str(item.get("title") or item.get("name") or "")[:300],
                           sku=str(item.get("sku") or "")[:100],
                           quantity=quantity(f"line_items[{i}].quantity", item.get("quantity")),
                           unit_price=money(f"line_items[{i}].price", item.get("price")))
                   for i, item in enumerate(payload.get("line_items") or [])],
        )
        if any(line.unit_price * line.quantity >= readers.MONEY_LIMIT for line in row.lines):
            raise fail("line_items", "a line's price × quantity is more than the largest amount kept "
                                     f"({readers.MONEY_LIMIT - Decimal('0.01')})")
        return row
    except CellError as exc:
        raise fail("", str(exc)) from None
    except (AttributeError, TypeError):
        raise fail("", "the body is not a Shopify order") from None


def shopify_order_receive(*, store: Store, payload: dict) -> ImportResult:
    """One order from Shopify's live feed, through the same upsert as a file import (created, updated or
    unchanged; a change of status or refund goes on the customer's timeline)."""
    workspace = store.workspace
    result = ImportResult(format="shopify", encoding="json")
    row = shopify_payload_row(payload, tz=zoneinfo.ZoneInfo(workspace.time_zone))
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store.pk).first()
        result.rows = 1
        engine = _Engine(workspace=workspace, store=store, result=result)
        engine.chunk([row])
        engine.assign_addresses()
    return result
