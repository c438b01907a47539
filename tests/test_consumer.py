"""Background jobs without a second command: the Huey consumer `guanxi serve` starts in its own process, the
heartbeat pages read to say whether any consumer is alive, and `guanxi serve` / `guanxi worker` as real processes
on the SQLite queue and on Redis."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from huey.contrib.djhuey import HUEY

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.imports.consumer import HEARTBEAT_KEY, consumer_alive, consumer_beat, start_consumer_thread
from guanxi.imports.models import ImportJob
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import api_token_create, store_create

SAMPLES = Path(__file__).resolve().parent.parent / "guanxi" / "data" / "samples"
TAOBAO = SAMPLES / "taobao" / "ExportOrderList_sample.csv"
ITEMS = SAMPLES / "taobao" / "ExportOrderDetailList_sample.csv"
SHOPIFY = SAMPLES / "shopify" / "orders_export_sample.csv"
HANG_GUARD = 240  # seconds: a loaded 2-core machine is slow, a hang is forever


@pytest.fixture
def empty_queue():
    """No task or heartbeat left by an earlier test in this session's queue file."""
    HUEY.storage.flush_all()
    yield
    HUEY.storage.flush_all()


@pytest.fixture
def staff(workspace, client, make_member, member_password):
    user = make_member(workspace, Role.SALES)
    client.login(username=user.username, password=member_password)
    return client


def _wait_for(predicate, what: str):
    deadline = time.monotonic() + HANG_GUARD
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} did not happen within {HANG_GUARD} s"
        time.sleep(0.2)
    return value


@pytest.mark.django_db(transaction=True)
def test_uploads_from_the_page_and_the_api_finish_with_the_consumer_serve_starts(
        workspace, store, staff, make_member, empty_queue):
    response = staff.post("/imports/", {"store": store.pk, "format": "", "on_error": "abort",
                                        "file": SimpleUploadedFile(TAOBAO.name, TAOBAO.read_bytes()),
                                        "items": SimpleUploadedFile(ITEMS.name, ITEMS.read_bytes())})
    web_job = ImportJob.objects.get()
    assert staff.post(f"/imports/jobs/{web_job.pk}/start/").status_code == 302
    shop = store_create(workspace=workspace, name="Own site", platform=Platform.SHOPIFY, currency="USD")
    token = api_token_create(workspace=workspace, user=make_member(workspace, Role.OWNER), name="script")
    with open(SHOPIFY, "rb") as upload:
        created = Client().post("/api/v1/imports", {"store_id": str(shop.pk), "file": upload},
                                headers={"Authorization": f"Bearer {token}"}).json()
    assert ImportJob.objects.get(pk=web_job.pk).status == ImportJob.Status.QUEUED  # nobody has run it yet
    assert not consumer_alive()

    handle = start_consumer_thread()
    try:
        assert _wait_for(consumer_alive, "a consumer heartbeat")
        _wait_for(lambda: not ImportJob.objects.filter(status__in=["queued", "running"]).exists(), "both imports")
        body = Client().get(f"/api/v1/imports/{created['id']}", headers={"Authorization": f"Bearer {token}"}).json()
        web_job.refresh_from_db()
        # The insight refresh each import queued runs on the same consumer; let it finish before the test ends.
        _wait_for(lambda: HUEY.pending_count() == 0, "the queued refreshes")
    finally:
        handle.stop(timeout=HANG_GUARD)
    assert web_job.status == ImportJob.Status.DONE, web_job.error
    assert web_job.result["orders_created"] == Order.objects.filter(store=store).count() > 0
    assert body["status"] == "succeeded", body
    assert body["orders_created"] == Order.objects.filter(store=shop).count() > 0
    assert not handle.alive


@pytest.mark.django_db
def test_a_queued_job_page_says_when_no_worker_is_running_and_names_the_command(
        workspace, store, staff, empty_queue, django_capture_on_commit_callbacks):
    staff.post("/imports/", {"store": store.pk, "format": "", "on_error": "abort",
                             "file": SimpleUploadedFile(TAOBAO.name, TAOBAO.read_bytes())})
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(f"/imports/jobs/{job.pk}/start/")
    assert HUEY.pending_count() == 1  # queued for a consumer, not run here
    page = staff.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "data-no-consumer" in page and "guanxi worker" in page

    consumer_beat()  # what a live consumer writes every few seconds
    page = staff.get(f"/imports/jobs/{job.pk}/").content.decode()
    assert "data-no-consumer" not in page and 'hx-trigger="every 1s"' in page

    HUEY.storage.flush_all()
    zh = staff.get(f"/imports/jobs/{job.pk}/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "没有正在运行的后台任务进程" in zh and "guanxi worker" in zh

    HUEY.put(HEARTBEAT_KEY, {"at": time.time() - 30, "host": "gone", "pid": 1})  # stopped beating 30 s ago
    assert "data-no-consumer" in staff.get(f"/imports/jobs/{job.pk}/").content.decode()


def _environment(home: Path, **extra) -> dict:
    environ = {k: v for k, v in os.environ.items() if k not in ("GUANXI_DATABASE_URL", "GUANXI_REDIS_URL")}
    return {**environ, "GUANXI_HOME": str(home), "PYTHONPATH": str(Path(__file__).resolve().parent.parent), **extra}


def _guanxi(home: Path, *args, **extra) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "guanxi.cli", *args], env=_environment(home, **extra),
                          capture_output=True, text=True, timeout=HANG_GUARD)
    assert done.returncode == 0, done.stderr
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free port (none of the machine's shared one), ended by its pid."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _answers(port), "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _api(port: int, token: str, path: str, *, data: bytes | None = None, content_type: str | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", data=data,
                                     headers={"Authorization": f"Bearer {token}",
                                              **({"Content-Type": content_type} if content_type else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, path in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{path.name}"\r\n'
                     f"Content-Type: text/csv\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_guanxi_serve_runs_api_imports_without_a_worker_and_stops_cleanly(queue, tmp_path, request):
    extra = {"GUANXI_REDIS_URL": request.getfixturevalue("private_redis")} if queue == "redis" else {}
    _guanxi(tmp_path, "workspace", "create", "shop", **extra)
    _guanxi(tmp_path, "createuser", "--username", "boss", "--password", "boss-pass-2718", "--role", "owner", **extra)
    token = _guanxi(tmp_path, "token", "--username", "boss", **extra).stdout.strip()
    _guanxi(tmp_path, "import", "orders", str(TAOBAO), "--store", "Taobao", **extra)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "serve", "--port", str(port)],
                              env=_environment(tmp_path, **extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        stores = _wait_for(lambda: _try(lambda: _api(port, token, "/stores")[1]), "the server")
        store_id = stores["items"][0]["id"] if isinstance(stores, dict) else stores[0]["id"]
        body, kind = _multipart({"store_id": store_id}, {"file": TAOBAO, "items": ITEMS})
        status, created = _api(port, token, "/imports", data=body, content_type=kind)
        assert status == 202 and created["status"] == "queued"
        result = _wait_for(lambda: (r := _api(port, token, f"/imports/{created['id']}")[1])["status"]
                           not in ("queued", "running") and r, "the import")
        assert result["status"] == "succeeded", result
        # The CLI import already made every order of this file: the API's run finds them all unchanged.
        assert result["orders_created"] == 0 and result["orders_unchanged"] == result["rows"] > 0
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=HANG_GUARD)
    assert code == 0, server.stderr.read()


def test_with_no_worker_serve_leaves_jobs_to_guanxi_worker(tmp_path):
    _guanxi(tmp_path, "workspace", "create", "shop")
    _guanxi(tmp_path, "createuser", "--username", "boss", "--password", "boss-pass-2718", "--role", "owner")
    token = _guanxi(tmp_path, "token", "--username", "boss").stdout.strip()
    _guanxi(tmp_path, "import", "orders", str(SHOPIFY), "--store", "Own site", "--platform", "shopify")
    port = _free_port()
    env = _environment(tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "serve", "--no-worker", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        stores = _wait_for(lambda: _try(lambda: _api(port, token, "/stores")[1]), "the server")
        store_id = stores["items"][0]["id"] if isinstance(stores, dict) else stores[0]["id"]
        body, kind = _multipart({"store_id": store_id, "format": "shopify"}, {"file": SHOPIFY})
        created = _api(port, token, "/imports", data=body, content_type=kind)[1]
        time.sleep(3)  # long enough for an in-process consumer to have taken it (it polls every 0.1-10 s)
        assert _api(port, token, f"/imports/{created['id']}")[1]["status"] == "queued"
        worker = subprocess.Popen([sys.executable, "-m", "guanxi.cli", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        result = _wait_for(lambda: (r := _api(port, token, f"/imports/{created['id']}")[1])["status"]
                           not in ("queued", "running") and r, "the import by guanxi worker")
        assert result["status"] == "succeeded" and result["orders_unchanged"] == result["rows"] > 0, result
    finally:
        for process in (worker, server):
            if process is not None:
                process.send_signal(signal.SIGTERM)
        codes = [p.wait(timeout=HANG_GUARD) for p in (worker, server) if p is not None]
    assert codes == [0, 0], [p.stderr.read() for p in (worker, server) if p is not None]


def _try(call):
    try:
        return call()
    except OSError:
        return None


@pytest.mark.django_db(transaction=True)
def test_when_guanxi_import_orders_returns_segment_counts_and_facts_include_the_import(workspace, store, empty_queue,
                                                                                       capsys):
    from decimal import Decimal

    from django.db.models import Sum

    from guanxi.cli import main
    from guanxi.customers.models import Customer
    from guanxi.segments.models import CustomerFacts
    from guanxi.segments.services import segment_create

    buyers = segment_create(name="买过的客户", rules={"all": [{"field": "orders_count", "op": ">=", "value": 1}]})
    assert buyers.member_count == 0
    code = main(["import", "orders", str(TAOBAO), "--items", str(ITEMS), "--store", store.name,
                 "--workspace", workspace.slug, "--json"])
    assert code == 0, capsys.readouterr().err
    customers = Customer.objects.filter(orders__isnull=False).distinct().count()
    buyers.refresh_from_db()
    assert buyers.member_count == customers > 0
    assert CustomerFacts.objects.filter(orders_count__gt=0).count() == customers
    paid = Order.objects.filter(status__in=PAID_STATUSES)
    one = paid.values("customer").annotate(total=Sum("paid_amount")).order_by("-total").first()
    facts = CustomerFacts.objects.get(customer_id=one["customer"])
    assert facts.total_paid == Decimal(one["total"]).quantize(Decimal("0.01"))
    assert HUEY.pending_count() == 1  # the scores (CLV, churn) are left to the consumer: one refresh queued


@pytest.mark.django_db
def test_the_insight_page_says_when_the_scores_were_last_computed(workspace, store, staff):
    import zoneinfo

    from guanxi.imports.services import orders_import
    from guanxi.insight.models import AnalyticsRun
    from guanxi.insight.services import insight_refresh

    orders_import(workspace=workspace, store=store, path=TAOBAO, items_path=ITEMS)
    insight_refresh()
    run = AnalyticsRun.objects.filter(status=AnalyticsRun.Status.SUCCEEDED).get()
    at = run.finished_at.astimezone(zoneinfo.ZoneInfo(workspace.time_zone)).strftime("%Y-%m-%d %H:%M")
    page = staff.get("/insight/").content.decode()
    assert f"Last computed {at}." in page
    assert f"最近计算于 {at}。" in staff.get("/insight/", headers={"Accept-Language": "zh-hans"}).content.decode()
