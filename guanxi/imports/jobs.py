"""Imports from the upload page: keep the upload, preview it as it will be read, run it as a background job.

The import itself is `orders_import` (one transaction). Its progress cannot go through the database — rows written
inside that transaction are invisible to the page until it commits — so the job writes the number of rows done to
a small file next to the upload, which the page polls.
"""

from __future__ import annotations

import dataclasses
import functools
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
from guanxi.workspaces.models import Store

PREVIEW_ROWS = 10
STORED_ERRORS = 200  # errors kept on the job for the page; the reject file has every one


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


def import_job_progress(job: ImportJob) -> int:
    """Rows read so far by a running job."""
    if job.status == ImportJob.Status.DONE:
        return job.result.get("rows", job.rows_total)
    try:
        return int(progress_path(job).read_text() or 0)
    except (OSError, ValueError):
        return 0


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued job to the end (the worker calls this): done with its summary, or failed with the error."""
    from guanxi.imports.services import ImportFailed, orders_import

    job = ImportJob.all_workspaces.select_related("workspace", "store").get(pk=job_id)
    with tenancy.active(job.workspace):
        if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.UPLOADED):
            return job
        job.status, job.started_at = ImportJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at", "updated_at"])
        marker = progress_path(job)
        done = 0

        def progress(rows: int) -> None:
            nonlocal done
            done += rows
            marker.write_text(str(done))

        try:
            result = orders_import(
                workspace=job.workspace, store=job.store, path=job.path, items_path=job.items_path or None,
                fmt=job.format or None, on_error=job.on_error, rejects_path=Path(job.path).parent / "rejects.csv",
                progress=progress, job=job,
            )
        except ImportFailed as failed:
            job.status, job.result = ImportJob.Status.FAILED, _capped(failed.result.as_json())
            job.error = str(failed.error)
        except Exception as exc:  # noqa: BLE001 - the page must say it failed, whatever the cause
            job.status, job.error = ImportJob.Status.FAILED, f"{type(exc).__name__}: {exc}"
        else:
            job.status, job.result = ImportJob.Status.DONE, _capped(result.as_json())
            job.rejects_path = result.rejects_path or ""
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "result", "error", "rejects_path", "finished_at", "updated_at"])
    return job


def _capped(summary: dict) -> dict:
    errors = summary.get("errors") or []
    return {**summary, "errors": errors[:STORED_ERRORS], "error_count": len(errors)}
