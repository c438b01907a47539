"""Imports over the API, the same jobs as the upload page: POST /api/v1/imports (multipart) queues one,
GET /api/v1/imports/{id} says where it is, POST /api/v1/imports/{id}/retry queues an interrupted one again.

Owner and sales may import (other roles 403); another workspace's job or store answers 404 like one that never
existed. Thin: check the role, call guanxi.imports.jobs, answer.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile

from guanxi.api.errors import ErrorOut
from guanxi.imports.jobs import (
    import_job_check, import_job_create, import_job_retry, import_job_start, import_job_summary, may_import,
)
from guanxi.imports.models import ImportJob
from guanxi.workspaces.models import Store
from guanxi.workspaces.permissions import PermissionDenied

router = Router(tags=["imports"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class ImportQueued(Schema):
    id: int
    status: str


class ImportRowError(Schema):
    line: int | None
    column: str | None
    message: str


class ImportStatus(Schema):
    id: int
    status: str  # queued, running, succeeded, failed, interrupted
    rows: int
    orders_created: int
    orders_updated: int
    orders_unchanged: int
    customers_created: int
    errors: list[ImportRowError]


def _importer(request) -> None:
    if not may_import(request.auth.role):
        raise PermissionDenied(_("The role “%(role)s” may not import; owners and sales may.")
                               % {"role": request.auth.role})


@router.post("", response={202: ImportQueued, **ERRORS}, summary="Import an order export")
def create_import(request, file: File[UploadedFile], store_id: Form[int], items: File[UploadedFile] = None,
                  format: Form[str] = ""):
    """Queue an import of `file` (a Taobao, Shopify, CDNOW or generic export; `items`: Taobao's item report)
    into store `store_id`; `format` blank: detected from the header. Bad rows abort the whole import. Poll
    GET /imports/{id} for the result."""
    _importer(request)
    store = Store.objects.get(pk=store_id)
    with transaction.atomic():
        job = import_job_create(store=store, upload=file, items_upload=items, fmt=format, by=request.auth.user)
        import_job_start(job=job)
    return Status(202, {"id": job.pk, "status": import_job_summary(job)["status"]})


@router.get("/{int:import_id}", response={200: ImportStatus, **ERRORS}, summary="Get an import")
def get_import(request, import_id: int):
    _importer(request)
    return import_job_summary(import_job_check(ImportJob.objects.select_related("store").get(pk=import_id)))


@router.post("/{int:import_id}/retry", response={202: ImportQueued, **ERRORS}, summary="Retry an interrupted import")
def retry_import(request, import_id: int):
    """Queue again an import whose worker died (status interrupted); anything else is refused (400)."""
    _importer(request)
    with transaction.atomic():
        job = import_job_check(ImportJob.objects.select_for_update().get(pk=import_id))
        import_job_retry(job=job)
    return Status(202, {"id": job.pk, "status": import_job_summary(job)["status"]})
