"""A job keeps at most STORED_ERRORS warnings, as it does errors, with the full count beside them: a file whose
every local time falls in a daylight-saving gap must not make a job row as big as the file. Both ways an import
keeps its job (the web upload's worker, and `guanxi import orders`, which records one for undo)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from guanxi.commerce.models import Order
from guanxi.imports.jobs import STORED_ERRORS, import_job_create, import_job_run
from guanxi.imports.models import ImportJob
from guanxi.imports.undo import orders_import_recorded
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create, workspace_create

pytestmark = pytest.mark.django_db
GAP = "2024-03-10 02:30:00"  # the clocks went forward in New York: every such time is warned about
ORDERS = STORED_ERRORS + 5


@pytest.fixture
def store(db):
    workspace = workspace_create(slug="ny", name="New York", time_zone="America/New_York", currency="USD")
    with tenancy.active(workspace):
        yield store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE, currency="USD")


def _export(tmp_path):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["order_number", "created", "amount", "status", "customer_id"],
                                  *([f"N{i}", GAP, "10.00", "paid", f"c{i}"] for i in range(ORDERS))])
    path = tmp_path / "orders.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _assert_capped(job: ImportJob) -> None:
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    assert Order.objects.count() == ORDERS
    assert job.result["warning_count"] == ORDERS and len(job.result["warnings"]) == STORED_ERRORS
    assert job.result["warnings"][0]["line"] == 2 and GAP in job.result["warnings"][0]["message"]
    assert job.result["error_count"] == 0 and job.result["errors"] == []


def test_an_uploaded_job_keeps_at_most_the_stored_number_of_warnings(store, tmp_path):
    path = _export(tmp_path)
    job = import_job_create(store=store, upload=SimpleUploadedFile("orders.csv", path.read_bytes()), fmt="generic")
    import_job_run(job_id=job.pk)
    _assert_capped(job)


def test_a_cli_import_keeps_at_most_the_stored_number_of_warnings(store, tmp_path):
    job, result = orders_import_recorded(workspace=store.workspace, store=store, path=_export(tmp_path),
                                         fmt="generic")
    assert len(result.warnings) == ORDERS  # the command's own output still has them all
    _assert_capped(job)
