"""The import API: POST /api/v1/imports queues the same job as the upload page, GET /api/v1/imports/{id} reports
it in the API's words, POST …/retry queues an interrupted one again; owner/sales only, one workspace only.

Jobs run through Huey's immediate mode here (the task runs where it is queued); tests/test_consumer.py runs them
with the real consumer `guanxi serve` starts."""

import os
import time
from pathlib import Path

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from guanxi.api.testing import api_routes
from guanxi.commerce.models import Order
from guanxi.imports.jobs import heartbeat_path, import_job_create
from guanxi.imports.models import ImportJob
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import api_token_create, store_create

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parent.parent / "guanxi" / "data" / "samples"
TAOBAO = SAMPLES / "taobao" / "ExportOrderList_sample.csv"
ITEMS = SAMPLES / "taobao" / "ExportOrderDetailList_sample.csv"
SHOPIFY = SAMPLES / "shopify" / "orders_export_sample.csv"
IMPORT_ROUTES = [r for r in api_routes() if r.path.startswith("/imports")]
KEYS = {"id", "status", "rows", "orders_created", "orders_updated", "orders_unchanged", "customers_created", "errors"}


@pytest.fixture
def immediate_jobs():
    HUEY.immediate = True
    yield
    HUEY.immediate = False


@pytest.fixture
def token_for(workspace, make_member):
    def make(role, ws=None):
        ws = ws or workspace
        return api_token_create(workspace=ws, user=make_member(ws, role), name="script")

    return make


def _post(token, store_id, path: Path, *, items: Path | None = None, fmt=None):
    data = {"store_id": str(store_id), "file": open(path, "rb")}
    if items:
        data["items"] = open(items, "rb")
    if fmt is not None:
        data["format"] = fmt
    try:
        return Client().post("/api/v1/imports", data, headers={"Authorization": f"Bearer {token}"})
    finally:
        for value in data.values():
            if hasattr(value, "close"):
                value.close()


def _get(token, path):
    return Client().get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})


def _retry(token, job_id):
    return Client().post(f"/api/v1/imports/{job_id}/retry", headers={"Authorization": f"Bearer {token}"})


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_the_routes_are_the_documented_ones():
    assert {str(r) for r in IMPORT_ROUTES} == {"POST /imports", "GET /imports/{import_id}",
                                               "POST /imports/{import_id}/retry"}
    assert all(r.needs_token for r in IMPORT_ROUTES)


def test_a_taobao_export_with_its_item_report_is_imported_through_the_api(
        workspace, store, token_for, immediate_jobs, django_capture_on_commit_callbacks):
    token = token_for(Role.SALES)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(token, store.pk, TAOBAO, items=ITEMS)
    assert response.status_code == 202, response.content
    created = response.json()
    assert set(created) == {"id", "status"} and created["status"] == "queued"
    job = ImportJob.objects.get(pk=created["id"])
    assert job.store == store and job.items_path and job.created_by.username.startswith("sales")

    body = _get(token, f"/imports/{created['id']}").json()
    orders = Order.objects.filter(store=store)
    assert set(body) == KEYS and body["status"] == "succeeded", body
    assert body["orders_created"] == orders.count() == body["rows"] > 0
    assert body["orders_updated"] == body["orders_unchanged"] == 0 and body["errors"] == []
    assert body["customers_created"] == orders.values("customer").distinct().count()
    assert orders.filter(lines__isnull=False).exists()  # the item report gave the orders their lines

    with django_capture_on_commit_callbacks(execute=True):
        again = _post(token, store.pk, TAOBAO, items=ITEMS).json()
    body = _get(token, f"/imports/{again['id']}").json()
    assert (body["status"], body["orders_created"], body["orders_unchanged"]) == ("succeeded", 0, orders.count())


def test_a_shopify_export_with_an_explicit_format(workspace, token_for, immediate_jobs,
                                                  django_capture_on_commit_callbacks):
    shop = store_create(workspace=workspace, name="Own site", platform=Platform.SHOPIFY, currency="USD")
    token = token_for(Role.OWNER)
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(token, shop.pk, SHOPIFY, fmt="shopify").json()
    body = _get(token, f"/imports/{created['id']}").json()
    assert body["status"] == "succeeded", body
    assert body["orders_created"] == Order.objects.filter(store=shop).count() > 0


def test_a_bad_row_fails_the_job_with_its_line_and_imports_nothing(workspace, store, token_for, tmp_path,
                                                                   immediate_jobs, django_capture_on_commit_callbacks):
    bad = tmp_path / "orders.csv"
    bad.write_text("order_number,created,amount,status\nG-1,2024-05-01,10.00,paid\nG-2,yesterday,5.00,paid\n")
    token = token_for(Role.SALES)
    with django_capture_on_commit_callbacks(execute=True):
        created = _post(token, store.pk, bad).json()
    body = _get(token, f"/imports/{created['id']}").json()
    assert body["status"] == "failed" and body["orders_created"] == 0
    assert body["errors"][0]["line"] == 3 and body["errors"][0]["column"] == "created"
    assert Order.objects.count() == 0


def test_an_unknown_format_or_a_missing_file_is_a_400_in_the_error_format(workspace, store, token_for):
    token = token_for(Role.OWNER)
    error = _error(_post(token, store.pk, TAOBAO, fmt="excel97"), 400, "invalid")
    assert "excel97" in error["message"] and "format" in error["fields"]
    response = Client().post("/api/v1/imports", {"store_id": str(store.pk)}, headers={"Authorization": f"Bearer {token}"})
    assert "file" in _error(response, 400, "invalid")["fields"]
    assert ImportJob.objects.count() == 0


@pytest.mark.parametrize("role", [Role.SERVICE, Role.MARKETING, Role.ANALYST])
def test_only_owners_and_sales_may_import(role, workspace, store, token_for, immediate_jobs):
    owner = token_for(Role.OWNER)
    with tenancy.active(workspace):
        job = import_job_create(store=store, upload=_upload(TAOBAO))
    token = token_for(role)
    _error(_post(token, store.pk, TAOBAO), 403, "forbidden")
    _error(_get(token, f"/imports/{job.pk}"), 403, "forbidden")
    _error(_retry(token, job.pk), 403, "forbidden")
    assert ImportJob.objects.count() == 1 and Order.objects.count() == 0
    assert _get(owner, f"/imports/{job.pk}").status_code == 200


def test_every_import_route_refuses_a_request_without_a_token(workspace, store):
    for route in IMPORT_ROUTES:
        response = Client().generic(route.method, route.url(import_id=1))
        _error(response, 401, "unauthorized")


def test_another_workspaces_job_and_store_answer_404(workspace, other_workspace, store, token_for, make_member):
    theirs = store_create(workspace=other_workspace, name="Rival", platform=Platform.TAOBAO, currency="CNY")
    with tenancy.active(other_workspace):
        their_job = import_job_create(store=theirs, upload=_upload(TAOBAO))
        ImportJob.objects.filter(pk=their_job.pk).update(status=ImportJob.Status.INTERRUPTED)
    token = token_for(Role.OWNER)
    for response in (_get(token, f"/imports/{their_job.pk}"), _retry(token, their_job.pk),
                     _post(token, theirs.pk, TAOBAO)):
        assert str(their_job.pk) not in _error(response, 404, "not_found")["message"]
    assert ImportJob.all_workspaces.count() == 1
    assert ImportJob.all_workspaces.get().status == ImportJob.Status.INTERRUPTED
    # Their own token sees it: the 404 came from scoping.
    assert _get(token_for(Role.OWNER, other_workspace), f"/imports/{their_job.pk}").json()["status"] == "interrupted"


def test_a_running_job_without_a_heartbeat_is_reported_interrupted_and_can_be_retried(
        workspace, store, token_for, settings, immediate_jobs, django_capture_on_commit_callbacks):
    settings.IMPORT_JOB_STALE_SECONDS = 60
    token = token_for(Role.SALES)
    job = import_job_create(store=store, upload=_upload(TAOBAO))
    # As a worker leaves it when killed mid-run: running, started long ago, last heartbeat 61 s old.
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, attempts=1,
                                               started_at=job.created_at)
    heartbeat_path(job).touch()
    _age(heartbeat_path(job), 50)
    assert "interrupted" in _error(_retry(token, job.pk), 400, "invalid")["message"]
    assert _get(token, f"/imports/{job.pk}").json()["status"] == "running"  # 50 s of silence is not enough
    _age(heartbeat_path(job), 61)
    body = _get(token, f"/imports/{job.pk}").json()
    assert (body["status"], body["rows"], body["orders_created"]) == ("interrupted", 0, 0)
    page = _page(workspace, job)
    assert "Nothing was imported" in page and f"/imports/jobs/{job.pk}/retry/" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = _retry(token, job.pk)
    assert response.status_code == 202 and response.json() == {"id": job.pk, "status": "queued"}
    body = _get(token, f"/imports/{job.pk}").json()
    assert body["status"] == "succeeded" and body["orders_created"] == Order.objects.count() > 0
    assert ImportJob.objects.get(pk=job.pk).attempts == 2
    _error(_retry(token, job.pk), 400, "invalid")  # a finished job is not retried


def test_a_fresh_heartbeat_keeps_a_running_job_running(workspace, store, token_for):
    job = import_job_create(store=store, upload=_upload(TAOBAO))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, attempts=1,
                                               started_at=job.created_at)
    heartbeat_path(job).touch()
    assert _get(token_for(Role.SALES), f"/imports/{job.pk}").json()["status"] == "running"


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _upload(path: Path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(path.name, path.read_bytes())


def _page(workspace, job) -> str:
    from guanxi.workspaces.models import Membership

    user = Membership.objects.filter(role=Role.SALES).first().user
    client = Client()
    client.force_login(user)
    return client.get(f"/imports/jobs/{job.pk}/").content.decode()


def test_the_retry_button_on_the_job_page_queues_an_interrupted_job(workspace, store, make_member, member_password,
                                                                      immediate_jobs, django_capture_on_commit_callbacks):
    job = import_job_create(store=store, upload=_upload(TAOBAO))
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.INTERRUPTED, attempts=1)
    marketing, sales = Client(), Client()
    marketing.login(username=make_member(workspace, Role.MARKETING).username, password=member_password)
    sales.login(username=make_member(workspace, Role.SALES).username, password=member_password)
    assert marketing.post(f"/imports/jobs/{job.pk}/retry/").status_code == 403
    assert marketing.get("/imports/").status_code == 403
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.INTERRUPTED
    assert "已中断" in sales.get("/imports/", headers={"Accept-Language": "zh-hans"}).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert sales.post(f"/imports/jobs/{job.pk}/retry/").status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.result["orders_created"] == Order.objects.count() > 0


def test_the_schema_documents_the_import_routes_refusals():
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for route in IMPORT_ROUTES:
        codes = set(paths[f"/api/v1{route.path}"][route.method.lower()]["responses"])
        assert {"401", "403", "404"} <= codes, route
    upload = paths["/api/v1/imports"]["post"]["requestBody"]["content"]
    assert set(upload["multipart/form-data"]["schema"]["properties"]) >= {"file", "items", "store_id", "format"}
