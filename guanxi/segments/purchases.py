"""Keeping CustomerPurchase (one row per line of a paid order) in step with the orders, by re-reading only the
orders changed since the previous sync — a full rebuild copies every order line (12.8 million at 10 million orders)
and takes minutes; the orders an import or a merge touched take seconds.

An order counts as changed when its `updated_at` moved (every service that writes orders stamps it: imports,
`order_update`, customer merges and their undo). Deleting an order or a line through the ORM deletes its row.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from guanxi.commerce.models import PAID_STATUSES, OrderLine
from guanxi.segments.models import CustomerPurchase
from guanxi.segments.sql import insert_select
from guanxi.workspaces.tenancy import current_workspace

# Stamps are taken by application code, a little before the statement that writes them: the next sync starts
# this much earlier than strictly needed.
STAMP_MARGIN = dt.timedelta(minutes=10)
PURCHASE_FIELDS = ("line", "customer", "sku", "placed_at")


def changes_visible_from() -> dt.datetime:
    """The earliest `updated_at` an order change not yet visible to this connection can carry.

    A transaction still open (an import, say) commits its orders later with stamps from before its commit; on
    PostgreSQL its start is read from pg_stat_activity so the next sync reaches back to it. On SQLite a sync (a
    write transaction) sees every committed change, but an import still staging (guanxi.imports.staging) is
    hidden: the sync reaches back to the oldest such job's creation.
    """
    oldest = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction keeps its first reading
            cursor.execute(
                "SELECT min(xact_start) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            started = cursor.fetchone()[0]
        if started is not None:
            oldest = min(oldest, started)
    else:  # a staged SQLite import's orders carry stamps from its start and appear when it is published
        from guanxi.imports.models import ImportJob
        from guanxi.workspaces.tenancy import STAGING

        started = ImportJob.all_workspaces.filter(stage=STAGING).order_by("created_at").values_list(
            "created_at", flat=True).first()
        if started is not None:
            oldest = min(oldest, started)
    return oldest - STAMP_MARGIN


def purchases_sync(*, changed_since: dt.datetime | None) -> dict:
    """Bring the active workspace's CustomerPurchase rows up to date: re-read the orders updated at or after
    `changed_since` (None: every order). Call inside a transaction; returns rows removed and written, and
    `next_changed_since` to pass to the next sync (taken before any order is read).
    """
    next_changed_since = changes_visible_from()
    workspace = current_workspace()
    lines = OrderLine.objects.order_by()
    stale = CustomerPurchase.objects.order_by()
    if changed_since is not None:
        lines = lines.filter(order__updated_at__gte=changed_since)
        stale = stale.filter(line__in=lines.values("pk"))
    removed, _by_model = stale.delete()  # one DELETE: nothing depends on these rows
    rows = lines.filter(order__status__in=PAID_STATUSES).values_list(
        "pk", "order__customer_id", "sku", "order__placed_at")
    now = timezone.now()
    written = insert_select(CustomerPurchase, PURCHASE_FIELDS, rows,
                            {"workspace": workspace.pk, "created_at": now, "updated_at": now})
    return {"removed": removed, "written": written, "next_changed_since": next_changed_since}
