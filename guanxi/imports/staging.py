"""Sliced imports on SQLite: the write lock is held for one slice at a time, never for the whole file.

SQLite has one writer. An import that ran as one transaction kept every other writer (sign-ins, API tokens,
webhooks, edits) waiting for the whole file, and they gave up after the busy timeout with HTTP 500. Instead, an
import with a job, outside any caller's transaction, is *staged* (docs/import-locking.md):

1. `begin` marks its job `stage = "staging"` (after discarding a dead staging import of the workspace, or
   refusing with ImportBusy while a live one runs: one staging import per workspace).
2. The engine writes its new orders, lines, shipments, customers and identities in short transactions (a chunk
   or a slice of a fast batch each). Every order and customer carries the job's id, and while the job is
   staging the tenant managers and raw readers leave those rows out (guanxi.workspaces.tenancy), so nothing of
   the import is visible. What would change rows that existed before (updated orders and their notes,
   identities, tags and consents of existing customers, their addresses) is kept in memory.
3. `publish` is one short transaction: the job becomes `published` (everything it staged appears at once), the
   kept changes are applied and its undo record written.

A process killed at any moment leaves its job `staging`: its rows stay invisible, and the next import into the
workspace (or the interrupted-job sweep) `discard`s them in short transactions. The re-run then starts from the
database as it was, so it is exact. PostgreSQL keeps the single transaction (MVCC hides it from readers and it
blocks no other writer but on row locks); its commit is made durable there (`BulkWriter.durable_commit`).
"""

from __future__ import annotations

import contextlib
import os
import socket

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.imports.models import ImportChange, ImportJob
from guanxi.workspaces.tenancy import STAGING

PUBLISHED, DISCARDED = "published", "discarded"
SLICE_ROWS = 2000  # rows of one table per insert of a fast batch (≈ 0.05–0.2 s on SQLite under load)
SLICE_SECONDS = 0.2  # inserts go on in one write transaction until it has run this long
STALE_SECONDS = 120.0  # a staging job on another machine with no slice written for this long is dead


def usable(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether an import runs staged: SQLite, and not inside a caller's transaction (which holds the lock)."""
    connection = connections[using]
    return connection.vendor == "sqlite" and not connection.in_atomic_block


def _alive(job: ImportJob) -> bool:
    """Whether the process staging `job` may still be running: on this machine, its pid exists and it wrote a
    slice recently; elsewhere, only the latter."""
    fresh = job.stage_beat is not None and (timezone.now() - job.stage_beat).total_seconds() < STALE_SECONDS
    if job.stage_host == socket.gethostname() and job.stage_pid:
        try:
            os.kill(job.stage_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return fresh


def begin(job: ImportJob) -> None:
    """Mark `job` staging for this process; ImportBusy while another live import stages in the workspace."""
    from guanxi.imports.services import ImportBusy

    own = ImportJob.all_workspaces.filter(pk=job.pk).values_list("stage", flat=True).first()
    if own == STAGING:  # a retry of a run that died: its rows go first
        discard(job)
    while True:
        with transaction.atomic():  # BEGIN IMMEDIATE: two imports cannot both see "none staging"
            others = list(ImportJob.all_workspaces.filter(workspace_id=job.workspace_id, stage=STAGING)
                          .exclude(pk=job.pk))
            if any(_alive(other) for other in others):
                raise ImportBusy
            if not others:
                ImportJob.all_workspaces.filter(pk=job.pk).update(
                    stage=STAGING, stage_host=socket.gethostname()[:255], stage_pid=os.getpid(),
                    stage_beat=timezone.now())
                job.stage = STAGING
                return
        for other in others:
            discard(other)


@contextlib.contextmanager
def write_slice(job: ImportJob):
    """One short write transaction of a staging import, which also shows the import is alive."""
    with transaction.atomic():
        yield
        ImportJob.all_workspaces.filter(pk=job.pk).update(stage_beat=timezone.now())


def publish(job: ImportJob, apply) -> None:
    """Make the staged import visible and run `apply()` (its deferred changes), in one transaction."""
    with transaction.atomic():
        ImportJob.all_workspaces.filter(pk=job.pk).update(stage=PUBLISHED, stage_beat=timezone.now())
        job.stage = PUBLISHED
        apply()


def discard(job: ImportJob) -> dict:
    """Remove what a staging `job` wrote, in short transactions, then mark it discarded. Idempotent: a discard
    killed half-way leaves the job staging (the rest invisible) and is finished by the next one. Returns
    {"orders", "customers"} removed."""
    from guanxi.imports.undo import BATCH, _remove_orders

    if ImportJob.all_workspaces.filter(pk=job.pk, stage=STAGING).count() == 0:
        return {"orders": 0, "customers": 0}
    order_ids = list(Order.all_workspaces.filter(store_id=job.store_id, import_job_id=job.pk).order_by()
                     .values_list("pk", flat=True))
    orders = 0
    for start in range(0, len(order_ids), BATCH):
        with transaction.atomic():
            orders += _remove_orders(order_ids[start:start + BATCH])
    customer_ids = list(Customer.all_workspaces.filter(workspace_id=job.workspace_id, import_job_id=job.pk)
                        .order_by().values_list("pk", flat=True))
    customers = 0
    for start in range(0, len(customer_ids), BATCH):
        batch = customer_ids[start:start + BATCH]
        with transaction.atomic():
            # One an order of someone else points to (a webhook matched its identity) stays, with that order.
            kept = set(Order.all_workspaces.filter(customer_id__in=batch).values_list("customer_id", flat=True))
            orphans = [pk for pk in batch if pk not in kept]
            if orphans:  # the cascade takes their identities (nothing else of theirs is written while staging)
                _count, by_model = Customer.all_workspaces.filter(pk__in=orphans).delete()
                customers += by_model.get(Customer._meta.label, 0)
    with transaction.atomic():
        ImportChange.all_workspaces.filter(job_id=job.pk).delete()
        ImportJob.all_workspaces.filter(pk=job.pk).update(stage=DISCARDED)
    job.stage = DISCARDED
    return {"orders": orders, "customers": customers}


def discard_dead(workspace_id: int) -> int:
    """Discard the workspace's staging imports whose process is gone; returns how many."""
    dead = [job for job in ImportJob.all_workspaces.filter(workspace_id=workspace_id, stage=STAGING)
            if not _alive(job)]
    for job in dead:
        discard(job)
    return len(dead)
