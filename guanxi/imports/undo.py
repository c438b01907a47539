"""Undoing an import: what it created goes, what it changed is put back, so every figure is the one before it.

What an import did is recorded as it runs, at a cost that does not grow with the new rows: each order and customer
it creates carries its job's id in `import_job_id` (one more column in the bulk writer's COPY), and `ImportChange`
keeps a row only for what it changed or added to what existed before — an updated order's previous values, a
timeline note, an identity, tag or consent given to an existing customer (`ImportRecord`).

`import_undo` then, in one transaction (a failure leaves everything as it was): puts the updated orders' compared
fields back, removes the notes, identities, tags and consents it added, removes the orders it created with their
lines, shipments and purchase rows, and the customers it created that have no other order left (with their
identities, tags, consents and scores). It refuses, rather than guess, when a later import or anything else
changed those orders since. Shopify webhooks are not imports: they are not recorded, and an order one changed
after an import makes that import's undo refuse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.activities.models import Interaction
from guanxi.commerce.models import Order, OrderLine, Shipment
from guanxi.customers.models import Consent, Customer, CustomerTag, Identity, Tag
from guanxi.imports.models import ImportChange, ImportJob
from guanxi.segments.models import CustomerPurchase
from guanxi.workspaces.models import Store

BATCH = 2000  # rows per bulk statement
Kind = ImportChange.Kind
# The tables that point to an order or its lines, each removed here by a set-based DELETE (the ORM's cascade
# would load every row of a million-order import into memory). tests/test_import_undo.py checks that no other
# model points to them, so a new one cannot be left dangling.
ORDER_DEPENDENTS = {(OrderLine, "order"), (Shipment, "order"), (CustomerPurchase, "line")}


class UndoRefused(Exception):
    """The import cannot be undone as things stand; the message says why and what to do."""


def _text(value):
    """A compared field's value as JSON keeps it exactly (money as text, times in ISO 8601 with their offset)."""
    if isinstance(value, (Decimal, dt.datetime)):
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return value


class ImportRecord:
    """What one import changed besides its new rows, collected while it runs and written at safe points (the
    fast path's writes thread owns the connection in between): `flush` from the import's own thread."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.rows: list[ImportChange] = []

    def _add(self, kind: str, object_id: int, previous: dict | None = None) -> None:
        self.rows.append(ImportChange(workspace_id=self.job.workspace_id, job=self.job, kind=kind,
                                      object_id=object_id, previous=previous or {}))

    def order_changed(self, order: Order, fields) -> None:
        """Before `order`'s `fields` are overwritten."""
        self._add(Kind.ORDER, order.pk, {field: _text(getattr(order, field)) for field in fields})

    def notes(self, notes: list[Interaction]) -> None:
        for note in notes:
            self._add(Kind.NOTE, note.pk)

    def identity(self, customer_id: int, kind: str, value: str, store_id: int | None) -> None:
        self._add(Kind.IDENTITY, customer_id, {"kind": kind, "value": value, "store": store_id})

    def consent_created(self, consent: Consent) -> None:
        self._add(Kind.CONSENT_NEW, consent.pk)

    def consent_changed(self, consent: Consent) -> None:
        """Before `consent` is overwritten."""
        self._add(Kind.CONSENT, consent.pk, {"granted": consent.granted, "recorded_at": _text(consent.recorded_at)})

    def tag_created(self, tag_id: int) -> None:
        self._add(Kind.TAG, tag_id)

    def tag_given(self, customer_id: int, tag_id: int) -> None:
        self._add(Kind.CUSTOMER_TAG, customer_id, {"tag": tag_id})

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        ImportChange.objects.bulk_create(rows, batch_size=BATCH)


def _first_changes(job: ImportJob) -> dict[int, dict]:
    """Each updated order's values before this import (an order it updated twice: before the first time)."""
    first: dict[int, dict] = {}
    for object_id, previous in ImportChange.objects.filter(job=job, kind=Kind.ORDER).order_by("id").values_list(
            "object_id", "previous"):
        first.setdefault(object_id, previous)
    return first


def _refuse_if_touched_since(job: ImportJob, changed_ids: list[int]) -> None:
    """UndoRefused when another import that is not undone changed an order this one created, or changed after it
    an order this one changed; or when anything else (a webhook, an edit, a merge) changed one since."""
    # Orders through the store, not the tenant manager (see _created_orders); ImportChange is small.
    created = Order.all_workspaces.filter(store_id=job.store_id, import_job_id=job.pk)
    touching = ImportChange.objects.filter(kind=Kind.ORDER, job__undone_at__isnull=True).exclude(job=job)
    later = set(touching.filter(object_id__in=created.values("pk")).values_list("job_id", flat=True))
    for start in range(0, len(changed_ids), BATCH):
        later |= set(touching.filter(object_id__in=changed_ids[start:start + BATCH],
                                     job__finished_at__gt=job.finished_at).values_list("job_id", flat=True))
    if later:
        names = ", ".join(f"#{pk}" for pk in sorted(later))
        raise UndoRefused(_("Import #%(job)s cannot be undone: later imports (%(later)s) changed its orders. Undo "
                            "those first.") % {"job": job.pk, "later": names})
    # Orders an undone later import put back were stamped by that undo, not changed by anyone.
    undone_since = ImportChange.objects.filter(kind=Kind.ORDER, job__undone_at__isnull=False).values("object_id")
    touched = created.filter(updated_at__gt=job.finished_at).exclude(pk__in=undone_since).count()
    since = Order.all_workspaces.filter(store_id=job.store_id, updated_at__gt=job.finished_at)
    for start in range(0, len(changed_ids), BATCH):
        touched += since.filter(pk__in=changed_ids[start:start + BATCH]).exclude(pk__in=undone_since).exclude(
            import_job_id=job.pk).count()
    if touched:
        raise UndoRefused(_("Import #%(job)s cannot be undone: %(count)s of its orders were changed after it (by a "
                            "Shopify webhook, an edit or a merge).") % {"job": job.pk, "count": touched})


def _restore_orders(job: ImportJob, first: dict[int, dict], now) -> int:
    """The compared fields of the orders this import updated (not those it created) as they were; returns how
    many. `updated_at` moves to now, so the next facts rebuild re-reads their purchases."""
    restored = 0
    ids = list(first)
    for start in range(0, len(ids), BATCH):
        orders = list(Order.objects.filter(pk__in=ids[start:start + BATCH]).exclude(import_job_id=job.pk))
        fields: set[str] = set()
        for order in orders:
            for name, value in first[order.pk].items():
                setattr(order, name, Order._meta.get_field(name).to_python(value))
                fields.add(name)
            order.updated_at = now
        if orders:
            Order.objects.bulk_update(orders, [*sorted(fields), "updated_at"], batch_size=BATCH)
        restored += len(orders)
    return restored


def _undo_customer_changes(job: ImportJob) -> None:
    """Notes, identities, tags and consents this import added to customers; consents it changed, as they were."""
    changes = ImportChange.objects.filter(job=job)
    Interaction.objects.filter(pk__in=changes.filter(kind=Kind.NOTE).values("object_id")).delete()
    Consent.objects.filter(pk__in=changes.filter(kind=Kind.CONSENT_NEW).values("object_id")).delete()
    for change in changes.filter(kind=Kind.CONSENT).order_by("-id"):  # the earliest previous value wins
        Consent.objects.filter(pk=change.object_id).update(
            granted=change.previous["granted"],
            recorded_at=Consent._meta.get_field("recorded_at").to_python(change.previous["recorded_at"]))
    for change in changes.filter(kind=Kind.CUSTOMER_TAG).iterator():
        CustomerTag.objects.filter(customer_id=change.object_id, tag_id=change.previous["tag"]).delete()
    for change in changes.filter(kind=Kind.IDENTITY).iterator():
        previous = change.previous
        Identity.objects.filter(customer_id=change.object_id, kind=previous["kind"], value=previous["value"],
                                store_id=previous["store"]).delete()
    created_tags = changes.filter(kind=Kind.TAG).values("object_id")
    Tag.objects.filter(pk__in=created_tags).exclude(Exists(CustomerTag.objects.filter(tag=OuterRef("pk")))).delete()


def _created_orders(job: ImportJob) -> list[int]:
    """The ids of the orders this import created. Through the store (which names the workspace), not the tenant
    manager: with its extra workspace filter a planner without statistics for a new workspace walks the
    workspace's date index instead (PostgreSQL took minutes to delete 50,000 orders that way)."""
    return list(Order.all_workspaces.filter(store_id=job.store_id, import_job_id=job.pk).order_by()
                .values_list("pk", flat=True))


def _remove_orders(order_ids: list[int]) -> int:
    """These orders with their lines, shipments and purchase rows, set-based in batches of ids (each an index
    lookup, whatever the statistics); returns how many."""
    removed = 0
    for start in range(0, len(order_ids), BATCH):
        batch = order_ids[start:start + BATCH]
        lines = OrderLine.all_workspaces.filter(order_id__in=batch).values("pk")
        CustomerPurchase.all_workspaces.filter(line_id__in=lines)._raw_delete(CustomerPurchase.objects.db)
        Shipment.all_workspaces.filter(order_id__in=batch)._raw_delete(Shipment.objects.db)
        OrderLine.all_workspaces.filter(order_id__in=batch)._raw_delete(OrderLine.objects.db)
        removed += Order.all_workspaces.filter(pk__in=batch)._raw_delete(Order.objects.db)
    return removed


def _remove_customers(job: ImportJob) -> int:
    """The customers this import created that no order points to any more (the ORM's cascade takes their
    identities, tags, consents, notes and scores); returns how many."""
    created = list(Customer.objects.filter(import_job_id=job.pk).order_by().values_list("pk", flat=True))
    removed = 0
    for start in range(0, len(created), BATCH):
        batch = created[start:start + BATCH]
        # Orders by customer through the (customer, placed_at) index, for the reason _created_orders says.
        kept = set(Order.all_workspaces.filter(customer_id__in=batch).values_list("customer_id", flat=True))
        orphans = [pk for pk in batch if pk not in kept]
        if orphans:
            _count, by_model = Customer.objects.filter(pk__in=orphans).delete()
            removed += by_model.get(Customer._meta.label, 0)
    return removed


def import_undo(*, job: ImportJob, by=None) -> dict:
    """Take import `job` out again, in one transaction; returns {"orders_removed", "orders_restored",
    "customers_removed"}. UndoRefused (nothing changed) when it was not a finished import, is undone already, or
    its orders were changed since. The analytics and segment figures are refreshed once it commits."""
    from guanxi.insight.tasks import refresh_after_import

    with transaction.atomic():
        # The store first, as an import takes it: no import into it can run meanwhile.
        Store.objects.select_for_update().filter(pk=job.store_id).first()
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.undone_at is not None:
            raise UndoRefused(_("Import #%(job)s was undone already.") % {"job": job.pk})
        if job.status != ImportJob.Status.DONE or job.finished_at is None:
            raise UndoRefused(_("Import #%(job)s did not finish, so it has nothing to undo.") % {"job": job.pk})
        first = _first_changes(job)
        created = _created_orders(job)
        _refuse_if_touched_since(job, list(first))
        now = timezone.now()
        restored = _restore_orders(job, first, now)
        _undo_customer_changes(job)
        removed = _remove_orders(created)
        customers = _remove_customers(job)
        summary = {"orders_removed": removed, "orders_restored": restored, "customers_removed": customers}
        job.undone_at, job.undone_by, job.undo_summary = now, by, summary
        job.save(update_fields=["undone_at", "undone_by", "undo_summary", "updated_at"])
        transaction.on_commit(functools.partial(refresh_after_import, job.workspace_id))
    return summary


def orders_import_recorded(*, workspace, store: Store, path, source: str = ImportJob.Source.CLI, by=None,
                           **options):
    """`orders_import` with its ImportJob, so it can be undone; an import that fails leaves no job. Inside a
    caller's transaction (or on PostgreSQL) the job is written in the import's transaction, so a failure also
    leaves no store made for it in the same transaction; a staged SQLite import commits the job first and
    deletes it on failure. `options` go to orders_import. Returns (job, result)."""
    from pathlib import Path

    from guanxi.imports import staging
    from guanxi.imports.jobs import stored_result
    from guanxi.imports.services import orders_import

    def done(result) -> None:  # in the transaction that makes the import visible
        job.status, job.result, job.finished_at = ImportJob.Status.DONE, stored_result(result.as_json()), timezone.now()
        job.rows_total = result.rows
        job.save(update_fields=["status", "result", "finished_at", "rows_total", "updated_at"])

    # Staged on SQLite (guanxi.imports.staging): the job is committed first, as the staging marker, and deleted
    # again if the import fails; a killed run leaves it running, then interrupted, its rows discarded.
    sliced = staging.usable()
    with contextlib.nullcontext() if sliced else transaction.atomic():
        job = ImportJob(workspace=workspace, store=store, created_by=by, source=source,
                        original_name=Path(path).name[:255], path=str(Path(path).resolve())[:500],
                        items_path=str(options.get("items_path") or "")[:500], format=options.get("fmt") or "",
                        on_error=options.get("on_error", "abort"), status=ImportJob.Status.RUNNING,
                        started_at=timezone.now())
        job.save()
        try:
            result = orders_import(workspace=workspace, store=store, path=path, job=job, on_publish=done, **options)
        except BaseException:
            if sliced:
                ImportJob.all_workspaces.filter(pk=job.pk).delete()
            raise
        if result.rejects_path:  # written after the publish
            job.rejects_path = result.rejects_path
            job.save(update_fields=["rejects_path", "updated_at"])
    return job, result
