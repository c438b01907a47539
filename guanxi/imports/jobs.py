"""Imports from the upload page: keep the upload, preview it as it will be read, run it as a background job.

The import itself is `orders_import` (one transaction, or on SQLite staged slices invisible until published, see
guanxi.imports.staging). Its progress does not go through the database — rows written are invisible to the page
until the import is published — so the job writes the number of rows done to a small file next to the upload,
which the page polls. A staged run found interrupted has its staged rows discarded at once.

A running job also shows it is alive by touching a `heartbeat` file beside the upload every few seconds, from a
thread of its own (the import holds SQLite's write lock for its whole transaction, so the heartbeat must not need
the database). A job whose heartbeat is older than `IMPORT_JOB_STALE_SECONDS` (60 s) had its worker killed: it is
marked interrupted when next read (its transaction rolled back with the worker, so nothing was imported), and
`import_job_retry` queues it again. Uploads and these files live under MEDIA_ROOT, which every worker of a
deployment shares (they read the uploads from there too).
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
import uuid
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.imports.formats import FORMATS
from guanxi.imports.models import ImportJob
from guanxi.imports.readers import RowError, open_orders, read_rows
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role, Store

PREVIEW_ROWS = 10
STORED_ERRORS = 200  # errors kept on the job for the page; the reject file has every one
# Who may import (web page and API): imports write orders and customers in bulk, so not every writing role may.
IMPORT_ROLES = frozenset({Role.OWNER, Role.SALES})


def may_import(role: str | None) -> bool:
    return role in IMPORT_ROLES


def stale_seconds() -> float:
    """Seconds without a heartbeat after which a running job counts as interrupted (setting, default 60)."""
    return float(getattr(settings, "IMPORT_JOB_STALE_SECONDS", 60))


def heartbeat_seconds() -> float:
    """How often a running job touches its heartbeat file: a quarter of the stale limit, at most 5 s."""
    return max(0.1, min(5.0, stale_seconds() / 4))


def _upload_dir() -> Path:
    folder = Path(settings.MEDIA_ROOT) / "imports" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _save(upload, folder: Path, prefix: str) -> Path:
    name = Path(upload.name or "upload").name[-100:]
    target = folder / f"{prefix}-{name}"
    with open(target, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return target


def _count_lines(path: Path) -> int:
    """Physical lines after the header: the progress bar's 100% (quoted line breaks make it an upper bound)."""
    count = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
    return max(count - 1, 1)


def import_job_create(*, store: Store, upload, items_upload=None, fmt: str = "", on_error: str = "abort",
                      by=None) -> ImportJob:
    """Keep the uploaded export (and item report) for preview; the job starts with `import_job_start`."""
    if fmt and fmt not in FORMATS:
        raise ValidationError({"format": _("Unknown format “%(fmt)s”.") % {"fmt": fmt}})
    if on_error not in ("abort", "skip"):
        raise ValidationError({"on_error": _("Choose abort or skip.")})
    folder = _upload_dir()
    path = _save(upload, folder, "orders")
    items_path = _save(items_upload, folder, "items") if items_upload else None
    job = ImportJob(
        workspace=tenancy.current_workspace(), store=store, created_by=by, original_name=Path(upload.name).name[:255],
        path=str(path), items_path=str(items_path or ""), format=fmt, on_error=on_error,
        rows_total=_count_lines(path),
    )
    job.full_clean(exclude=["workspace", "store", "created_by"])
    job.save()
    return job


@dataclasses.dataclass(frozen=True)
class Preview:
    format: str
    encoding: str
    header: list[str]
    rows: list  # OrderRow or RowError, the first PREVIEW_ROWS as the import will read them
    error: RowError | None


def import_preview(*, job: ImportJob) -> Preview:
    """The file as the import will read it: detected format and encoding, the header, the first orders parsed."""
    tz = zoneinfo.ZoneInfo(job.workspace.time_zone)
    header: list[str] = []
    try:
        encoding, lines = read_rows(job.path)
        first = next(iter(lines), None)
        header = first[1] if first else []
        opened = open_orders(job.path, fmt=job.format or None, tz=tz, items_path=job.items_path or None)
    except RowError as error:
        return Preview(format=job.format, encoding="", header=header, rows=[], error=error)
    rows = []
    for item in opened.rows:
        rows.append(item)
        if len(rows) >= PREVIEW_ROWS:
            break
    return Preview(format=opened.format, encoding=opened.encoding, header=header, rows=rows, error=None)


def import_job_start(*, job: ImportJob) -> ImportJob:
    """Queue the job (Huey); it runs once this transaction commits."""
    if job.status != ImportJob.Status.UPLOADED:
        raise ValidationError(_("This import was already started."))
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["status", "updated_at"])
    from guanxi.imports.tasks import run_import_job

    transaction.on_commit(functools.partial(run_import_job, job.pk))
    return job


def progress_path(job: ImportJob) -> Path:
    return Path(job.path).parent / "progress"


def heartbeat_path(job: ImportJob) -> Path:
    return Path(job.path).parent / "heartbeat"


def import_job_progress(job: ImportJob) -> int:
    """Rows read so far by a running job."""
    if job.status == ImportJob.Status.DONE:
        return job.result.get("rows", job.rows_total)
    try:
        return int(progress_path(job).read_text() or 0)
    except (OSError, ValueError):
        return 0


def last_sign_of_life(job: ImportJob) -> float | None:
    """When a running job last showed it was alive (epoch seconds): its heartbeat file, else its start."""
    try:
        return heartbeat_path(job).stat().st_mtime
    except OSError:
        return job.started_at.timestamp() if job.started_at else None


def import_job_check(job: ImportJob) -> ImportJob:
    """The job as it really is: a running one without a heartbeat for `stale_seconds()` becomes interrupted.

    Pages and the API read jobs through this, so a killed worker's job is reported the next time anyone looks.
    The update only applies to the same run (status and attempt unchanged), so it cannot undo a retry.
    """
    if job.status != ImportJob.Status.RUNNING:
        return job
    seen = last_sign_of_life(job)
    if seen is None or time.time() - seen < stale_seconds():
        return job  # None: no start time to go by (not a run of import_job_run)
    now = timezone.now()
    changed = ImportJob.all_workspaces.filter(pk=job.pk, status=ImportJob.Status.RUNNING, attempts=job.attempts) \
        .update(status=ImportJob.Status.INTERRUPTED, finished_at=now, updated_at=now)
    if changed:
        job.status, job.finished_at, job.updated_at = ImportJob.Status.INTERRUPTED, now, now
        _discard_staged(job)
    else:
        job.refresh_from_db()
    return job


def _discard_staged(job: ImportJob) -> None:
    """The rows a killed staged run left (invisible while its job is staging) go now, not at the next import."""
    from guanxi.imports import staging

    if job.stage != staging.STAGING or not staging.usable():
        return
    try:
        staging.discard(job)
    except Exception:  # noqa: BLE001 - a reader must still get its page; the next import discards them
        pass


def import_job_retry(*, job: ImportJob) -> ImportJob:
    """Queue an interrupted job again (Huey, once this transaction commits); it reads the kept upload anew."""
    if job.status != ImportJob.Status.INTERRUPTED:
        raise ValidationError(_("Only an interrupted import can be retried."))
    for marker in (progress_path(job), heartbeat_path(job)):
        marker.unlink(missing_ok=True)
    job.status, job.started_at, job.finished_at, job.error, job.result = ImportJob.Status.QUEUED, None, None, "", {}
    job.save(update_fields=["status", "started_at", "finished_at", "error", "result", "updated_at"])
    from guanxi.imports.tasks import run_import_job

    transaction.on_commit(functools.partial(run_import_job, job.pk))
    return job


class _Heartbeat:
    """Touch `path` every `heartbeat_seconds()` from a daemon thread while the `with` block runs: the beat stops
    when the process dies, which is the point."""

    def __init__(self, path: Path):
        self.path, self.stopped = path, threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"import-heartbeat-{path.parent.name}", daemon=True)

    def _touch(self) -> None:
        try:
            self.path.touch()
        except OSError:
            pass  # a full or read-only disk shows as a stale job, which is what it is

    def _beat(self) -> None:
        while not self.stopped.wait(heartbeat_seconds()):
            self._touch()

    def __enter__(self):
        self._touch()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job to the end (the worker calls this): done with its summary, or failed with the error."""
    from guanxi.imports.services import ImportFailed, orders_import

    job = ImportJob.all_workspaces.select_related("workspace", "store").get(pk=job_id)
    with tenancy.active(job.workspace):
        if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.UPLOADED):
            return job
        job.status, job.started_at, job.attempts = ImportJob.Status.RUNNING, timezone.now(), job.attempts + 1
        job.save(update_fields=["status", "started_at", "attempts", "updated_at"])
        marker = progress_path(job)
        done = 0

        def progress(rows: int) -> None:
            nonlocal done
            done += rows
            marker.write_text(str(done))

        def published(result) -> None:  # in the transaction that makes the import visible: done with it
            ImportJob.all_workspaces.filter(pk=job.pk, attempts=job.attempts).update(
                status=ImportJob.Status.DONE, result=stored_result(result.as_json()), finished_at=timezone.now())

        with _Heartbeat(heartbeat_path(job)):
            try:
                result = orders_import(
                    workspace=job.workspace, store=job.store, path=job.path, items_path=job.items_path or None,
                    fmt=job.format or None, on_error=job.on_error,
                    rejects_path=Path(job.path).parent / "rejects.csv", progress=progress, job=job,
                    on_publish=published,
                )
            except ImportFailed as failed:
                job.status, job.result = ImportJob.Status.FAILED, stored_result(failed.result.as_json())
                job.error = str(failed.error)
            except Exception as exc:  # noqa: BLE001 - the page must say it failed, whatever the cause
                job.status, job.error = ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
            else:
                job.status, job.result = ImportJob.Status.DONE, stored_result(result.as_json())
                job.rejects_path = result.rejects_path or ""
        job.finished_at = timezone.now()
        # Written even if a reader marked this run interrupted meanwhile (what it did is the truth), but not over
        # a later run of the same job.
        ImportJob.all_workspaces.filter(pk=job.pk, attempts=job.attempts).update(
            status=job.status, result=job.result, error=job.error, rejects_path=job.rejects_path,
            finished_at=job.finished_at, updated_at=job.finished_at)
    return job


def stored_result(summary: dict) -> dict:
    """An import's result (`ImportResult.as_json`) as its job keeps it: the first STORED_ERRORS errors and as many
    warnings, with their full counts (`error_count`, `warning_count`). A file of a million daylight-saving times
    must not make a job row of a million warnings; the reject file has every rejected row."""
    errors = summary.get("errors") or []
    warnings = summary.get("warnings") or []
    return {**summary, "errors": errors[:STORED_ERRORS], "error_count": len(errors),
            "warnings": warnings[:STORED_ERRORS], "warning_count": len(warnings)}


API_STATUS = {
    ImportJob.Status.UPLOADED: "queued", ImportJob.Status.QUEUED: "queued", ImportJob.Status.RUNNING: "running",
    ImportJob.Status.DONE: "succeeded", ImportJob.Status.FAILED: "failed",
    ImportJob.Status.INTERRUPTED: "interrupted",
}


def import_job_summary(job: ImportJob) -> dict:
    """The job as the API shows it: status in the API's words, counts (0 until it finishes; `rows` counts up
    while it runs) and errors ({line, column, message}, at most STORED_ERRORS)."""
    result = job.result or {}
    errors = list(result.get("errors") or [])
    if job.status == ImportJob.Status.FAILED and not errors and job.error:
        errors = [{"line": None, "column": None, "message": job.error}]
    if job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED):
        rows = result.get("rows", 0)
    else:  # an interrupted run's rows were rolled back with it
        rows = 0 if job.status == ImportJob.Status.INTERRUPTED else import_job_progress(job)
    return {
        "id": job.pk, "status": API_STATUS[job.status], "rows": rows,
        **{key: result.get(key, 0) for key in ("orders_created", "orders_updated", "orders_unchanged",
                                                "customers_created")},
        "errors": errors,
    }
