"""Fail-closed workspace scoping, below views, API, CLI and jobs.

Every tenant model's default manager (`objects`) filters by the workspace made active with `active(workspace)`;
when none is active it raises `WorkspaceNotActive` instead of returning every tenant's rows. The web middleware,
the API authentication, the CLI and background jobs each activate the workspace they act for, so a view that asks
for `Customer.objects.get(pk=...)` can only ever find the current workspace's customer: another workspace's id
answers DoesNotExist, which views turn into 404.

`Model.all_workspaces` is the deliberate escape hatch for system work that spans tenants (migrations, the demo
loader's bulk inserts, benchmarks); grep for it when auditing.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator

from django.db import DEFAULT_DB_ALIAS, connections, models

if TYPE_CHECKING:
    from guanxi.workspaces.models import Workspace

_active: ContextVar["Workspace | None"] = ContextVar("guanxi_workspace", default=None)


class WorkspaceNotActive(RuntimeError):
    """A tenant query ran with no active workspace: a bug that would otherwise leak rows."""


def current_workspace() -> "Workspace":
    workspace = _active.get()
    if workspace is None:
        raise WorkspaceNotActive("No workspace is active; wrap the code in tenancy.active(workspace).")
    return workspace


def current_workspace_or_none() -> "Workspace | None":
    return _active.get()


@contextlib.contextmanager
def active(workspace: "Workspace") -> Iterator["Workspace"]:
    """Make `workspace` the one all tenant queries in this context (thread/task) see."""
    token = _active.set(workspace)
    try:
        yield workspace
    finally:
        _active.reset(token)


def activate(workspace: "Workspace | None"):
    """Set the active workspace without a context manager; returns a token for `deactivate`."""
    return _active.set(workspace)


def deactivate(token) -> None:
    _active.reset(token)


class WorkspaceQuerySet(models.QuerySet):
    pass


# Rows a sliced SQLite import writes (guanxi.imports.staging) carry its job's id in `import_job_id`; while that
# job's stage is "staging" the rows are hidden from these models' tenant managers and from raw SQL readers that
# add `visible_clause()`. On PostgreSQL an import is one transaction (MVCC hides it), so nothing is added there.
STAGED_MODELS = frozenset({"commerce.Order", "customers.Customer"})
STAGING = "staging"


def staging_jobs(using: str = DEFAULT_DB_ALIAS):
    """A subquery of the ids of import jobs still staging (of any workspace: the table is small, the list is
    almost always empty, and SQLite evaluates it once per statement through the `stage` index)."""
    from django.apps import apps

    job = apps.get_model("imports", "ImportJob")
    return job.all_workspaces.using(using).filter(stage=STAGING).values("pk")


def hides_staged(model, using: str = DEFAULT_DB_ALIAS) -> bool:
    return model._meta.label in STAGED_MODELS and connections[using].vendor == "sqlite"


def visible_clause(column: str = "import_job_id", using: str = DEFAULT_DB_ALIAS) -> str:
    """SQL to AND into a raw reader of orders or customers: rows of a staging import are left out (SQLite)."""
    if connections[using].vendor != "sqlite":
        return ""
    from django.apps import apps

    table = connections[using].ops.quote_name(apps.get_model("imports", "ImportJob")._meta.db_table)
    return f" AND ({column} IS NULL OR {column} NOT IN (SELECT id FROM {table} WHERE stage = '{STAGING}'))"


class WorkspaceManager(models.Manager.from_queryset(WorkspaceQuerySet)):
    """Default manager of tenant models: only the active workspace's rows, or an error; for orders and customers
    on SQLite, without the rows of an import still staging."""

    def get_queryset(self):
        queryset = super().get_queryset().filter(workspace=current_workspace())
        if hides_staged(self.model, self.db):
            queryset = queryset.exclude(import_job_id__in=staging_jobs(self.db))
        return queryset


class WorkspaceOwned(models.Model):
    """A row that belongs to exactly one workspace, with creation and update times."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceManager()
    all_workspaces = models.Manager()

    class Meta:
        abstract = True


def current_time_zone():
    """The active workspace's time zone (dates on screens and "today" are in it)."""
    import zoneinfo

    return zoneinfo.ZoneInfo(current_workspace().time_zone)


def workspace_today(now=None):
    """Today's date in the active workspace's time zone."""
    from django.utils import timezone

    return (now or timezone.now()).astimezone(current_time_zone()).date()
