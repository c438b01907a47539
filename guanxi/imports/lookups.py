"""The import engine's two bulk reads, by lists of values: customers of identity values, and whether any of a
list of order numbers is in a store.

Raw SQL, because Django prepares each value of an `__in` list in Python (~9 µs a value: more than the rest of an
order's matching). Each query names its workspace or store explicitly, as the bulk writer does, and is shaped
for the unique index it must use: on PostgreSQL one array parameter (`= ANY`), on SQLite an `IN` list of at most
SLICE values (its limit is 32,766 variables).
"""

from __future__ import annotations

from typing import Iterator

from django.db import connection

from guanxi.commerce.models import Order
from guanxi.customers.models import Identity

SLICE = 5000


def _slices(values: list[str]) -> Iterator[list[str]]:
    step = max(len(values), 1) if connection.vendor == "postgresql" else SLICE
    for start in range(0, len(values), step):
        yield values[start:start + step]


def _any_of(values: list[str]) -> tuple[str, list]:
    """The SQL right-hand side matching any of `values`, and its parameters."""
    if connection.vendor == "postgresql":
        return "= ANY(%b)", [values]  # a binary array: psycopg dumps it 4 times faster than a text one
    return f"IN ({', '.join(['%s'] * len(values))})", list(values)


def identity_customers(*, workspace_id: int, kind: str, store_id: int | None,
                       values: list[str]) -> Iterator[tuple[str, int]]:
    """(value, customer id) of the identities of `kind` (within `store_id`, or workspace-wide for None)."""
    table = connection.ops.quote_name(Identity._meta.db_table)
    store = "store_id IS NULL" if store_id is None else "store_id = %s"  # the two partial unique indexes
    with connection.cursor() as cursor:
        for part in _slices(values):
            rhs, params = _any_of(part)
            cursor.execute(f"SELECT value, customer_id FROM {table} WHERE workspace_id = %s AND kind = %s "
                           f"AND {store} AND value {rhs}",
                           [workspace_id, kind, *([] if store_id is None else [store_id]), *params])
            yield from cursor.fetchall()


def any_order_numbered(*, store_id: int, numbers: list[str]) -> bool:
    """Whether the store has an order with one of these numbers (through its (store, number) unique index)."""
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cursor:
        for part in _slices(numbers):
            rhs, params = _any_of(part)
            cursor.execute(f"SELECT 1 FROM {table} WHERE store_id = %s AND number {rhs} LIMIT 1", [store_id, *params])
            if cursor.fetchone():
                return True
    return False


def planned_rows(model) -> float:
    """The PostgreSQL planner's row count of `model`'s table as of its last ANALYZE (0 if never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        return max(cursor.fetchone()[0], 0)


class OrderNumberSpans:
    """Where the store's order numbers may lie: a few closed ranges (in code-point order, as Python compares
    strings) that cover its numbers from before the import and every batch written since. A batch whose numbers
    all fall outside them cannot repeat an order, so the query for existing numbers is skipped — always, for the
    usual export sorted by number or date. Merging two ranges only covers more, so keeping at most MAX_SPANS
    keeps memory flat at the price of a few more queries, never a wrong answer."""

    MAX_SPANS = 64

    def __init__(self, *, store_id: int):
        table = connection.ops.quote_name(Order._meta.db_table)
        binary = ' COLLATE "C"' if connection.vendor == "postgresql" else ""  # SQLite compares bytes already
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MIN(number{binary}), MAX(number{binary}) FROM {table} WHERE store_id = %s",
                           [store_id])
            low, high = cursor.fetchone()
        self.spans: list[tuple[str, str]] = [] if low is None else [(low, high)]

    def may_hold(self, low: str, high: str) -> bool:
        """Whether an order numbered between `low` and `high` may be in the store."""
        return any(low <= end and start <= high for start, end in self.spans)

    def add(self, low: str, high: str) -> None:
        self.spans.append((low, high))
        if len(self.spans) > self.MAX_SPANS:
            self.spans.sort()
            (a, b), (c, d) = self.spans[:2]
            self.spans[:2] = [(a, max(b, d))]
