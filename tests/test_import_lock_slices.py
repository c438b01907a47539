"""A staged SQLite import (guanxi.imports.staging) holds the write lock only in short slices, is invisible until
it is published, leaves nothing visible when killed with SIGKILL, and a re-run after the discard is exact; on
PostgreSQL the commit that makes an import visible runs with synchronous_commit on.

The lock tests run the import in a child process (this file run as a script, on the SQLite file of a fresh
GUANXI_HOME) and write beside it from this process through a second sqlite3 connection with a 3 s busy timeout:
before staging, the import held the lock for its whole file and those writes failed with "database is locked".
The visibility tests run in this process, looking at the database from the import's progress callback, which is
called between slices.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDERS, CUSTOMERS = 40_000, 15_000  # four of the fast path's 10,000-line batches
HANG_GUARD = 900  # seconds; a guard against a hang on a loaded machine, not a speed requirement
PROBE_TIMEOUT = 3.0  # seconds a probe write may wait for the lock (the app's busy timeout is 10 s)


def _export(path: Path, orders: int, customers: int, *, status=lambda i: "paid", start: int = 0) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        out.write("order_number,created,amount,status,customer_name,email,phone\n")
        for i in range(start, start + orders):
            buyer = i % customers
            out.write(f"K-{i},2026-0{1 + i % 9}-{1 + i % 28:02d} 10:{i % 60:02d}:00,{10 + i % 90}.50,{status(i)},"
                      f"Buyer {buyer},buyer{buyer}@example.com,+86 138{buyer:08d}\n")
    return path


# -- the child process -------------------------------------------------------------------------------------------
def _child_setup(orders: str, customers: str) -> None:
    from django.core.files import File
    from django.db import transaction

    from guanxi.imports.jobs import import_job_create, import_job_start
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create, workspace_create

    export = _export(Path(os.environ["GUANXI_HOME"]) / "export.csv", int(orders), int(customers))
    workspace = workspace_create(slug="lock", name="Lock shop", time_zone="Asia/Shanghai")
    with tenancy.active(workspace), open(export, "rb") as handle:
        store = store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE, currency="CNY")
        with transaction.atomic():
            job = import_job_create(store=store, upload=File(handle, name=export.name), fmt="generic")
            import_job_start(job=job)
    from django.conf import settings

    print(json.dumps({"id": job.pk, "progress": str(Path(job.path).parent / "progress"),
                      "db": str(settings.DATABASES["default"]["NAME"])}))


def _child_run(job_id: str) -> None:
    from guanxi.imports.jobs import import_job_run

    import_job_run(job_id=int(job_id))


def _child_report(job_id: str) -> None:
    """The job through the sweep (which discards a dead run's rows) and what readers see."""
    from guanxi.commerce.models import Order
    from guanxi.commerce.selectors import order_stats
    from guanxi.customers.models import Customer
    from guanxi.imports.jobs import import_job_check, import_job_summary
    from guanxi.imports.models import ImportJob
    from guanxi.workspaces import tenancy

    job = ImportJob.all_workspaces.select_related("workspace").get(pk=int(job_id))
    with tenancy.active(job.workspace):
        summary = import_job_summary(import_job_check(job))
        stats = order_stats()
        print(json.dumps({**summary, "orders_in_db": Order.objects.count(), "customers_in_db": Customer.objects.count(),
                          "stats": [stats["orders"], stats["customers"]],
                          "stage": ImportJob.all_workspaces.get(pk=job.pk).stage}))


def _child_retry(job_id: str) -> None:
    from django.db import transaction

    from guanxi.imports.jobs import import_job_check, import_job_retry, import_job_run
    from guanxi.imports.models import ImportJob
    from guanxi.workspaces import tenancy

    job = ImportJob.all_workspaces.select_related("workspace").get(pk=int(job_id))
    with tenancy.active(job.workspace), transaction.atomic():
        import_job_retry(job=import_job_check(job))
    import_job_run(job_id=job.pk)
    _child_report(job_id)


# -- helpers of the tests ----------------------------------------------------------------------------------------
@pytest.fixture
def child_env(tmp_path):
    if os.environ.get("GUANXI_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("SQLite's write lock: a PostgreSQL import is one transaction that blocks no other writer")
    env = {k: v for k, v in os.environ.items() if k not in ("GUANXI_DATABASE_URL", "GUANXI_REDIS_URL")}
    env.update(GUANXI_HOME=str(tmp_path), GUANXI_JOB_STALE_SECONDS="2", PYTHONPATH=str(ROOT))
    return env


def _child(env, *args) -> dict:
    done = subprocess.run([sys.executable, __file__, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=HANG_GUARD)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _raw_counts(db: str, job_id: int) -> tuple[int, int]:
    """The job's orders and customers in the file, hidden or not."""
    with sqlite3.connect(db) as raw:
        orders = raw.execute("SELECT count(*) FROM commerce_order WHERE import_job_id = ?", [job_id]).fetchone()[0]
        customers = raw.execute("SELECT count(*) FROM customers_customer WHERE import_job_id = ?",
                                [job_id]).fetchone()[0]
    return orders, customers


def test_writes_beside_a_running_import_get_the_lock_within_a_short_busy_timeout(child_env):
    job = _child(child_env, "setup", ORDERS, CUSTOMERS)
    probe = sqlite3.connect(job["db"], timeout=PROBE_TIMEOUT, isolation_level=None)
    probe.execute("CREATE TABLE lock_probe (id INTEGER PRIMARY KEY, at REAL)")
    worker = subprocess.Popen([sys.executable, __file__, "run", str(job["id"])], env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    writes_mid_import = 0
    deadline = time.monotonic() + HANG_GUARD
    while worker.poll() is None:
        assert time.monotonic() < deadline, "the import never ended"
        probe.execute("BEGIN IMMEDIATE")  # sqlite3.OperationalError "database is locked" after 3 s fails the test
        probe.execute("INSERT INTO lock_probe (at) VALUES (?)", [time.time()])
        # Between two slices: some of the import's rows are committed, and it is not published yet.
        stage = probe.execute("SELECT stage FROM imports_importjob WHERE id = ?", [job["id"]]).fetchone()[0]
        staged = probe.execute("SELECT count(*) FROM commerce_order WHERE import_job_id = ?",
                               [job["id"]]).fetchone()[0]
        probe.execute("COMMIT")
        writes_mid_import += stage == "staging" and 0 < staged < ORDERS
        time.sleep(0.02)
    assert worker.returncode == 0, worker.stderr.read()
    # Between its batches at least (SQLite's busy handler retries every 100 ms at most, and a batch's slices follow
    # each other at once, so a waiting write mostly gets in while the import resolves its next batch), not only
    # before and after it.
    assert writes_mid_import >= 1
    report = _child(child_env, "status", job["id"])
    assert (report["status"], report["orders_in_db"], report["customers_in_db"]) == ("succeeded", ORDERS, CUSTOMERS)
    assert report["stage"] == "published"


def test_a_killed_staging_import_shows_nothing_and_after_the_discard_a_rerun_is_exact(child_env):
    job = _child(child_env, "setup", ORDERS, CUSTOMERS)
    worker = subprocess.Popen([sys.executable, __file__, "run", str(job["id"])], env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD
    while _raw_counts(job["db"], job["id"])[0] == 0:  # until the first slices are committed
        assert worker.poll() is None, worker.stderr.read()
        assert time.monotonic() < deadline, "the import wrote nothing"
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=60) == -signal.SIGKILL
    staged_orders, staged_customers = _raw_counts(job["db"], job["id"])
    assert staged_orders > 0 and staged_customers > 0  # slices were committed ...
    assert staged_orders < ORDERS
    with sqlite3.connect(job["db"]) as raw:
        assert raw.execute("SELECT stage FROM imports_importjob WHERE id = ?", [job["id"]]).fetchone()[0] == "staging"

    report = _child(child_env, "status", job["id"])  # ... and none of them is visible to any reader
    assert (report["orders_in_db"], report["customers_in_db"], report["stats"]) == (0, 0, [0, 0])
    while report["status"] == "running":  # until 2 s pass without a heartbeat: then the sweep discards
        assert time.monotonic() < deadline, "the job never became interrupted"
        time.sleep(0.5)
        report = _child(child_env, "status", job["id"])
    assert report["status"] == "interrupted" and report["stage"] == "discarded"
    assert _raw_counts(job["db"], job["id"]) == (0, 0)

    report = _child(child_env, "retry", job["id"])
    assert report["status"] == "succeeded", report
    assert (report["rows"], report["orders_created"], report["orders_updated"], report["customers_created"]) == \
        (ORDERS, ORDERS, 0, CUSTOMERS)
    assert (report["orders_in_db"], report["customers_in_db"], report["stats"]) == \
        (ORDERS, CUSTOMERS, [ORDERS, CUSTOMERS])
    assert _raw_counts(job["db"], job["id"]) == (ORDERS, CUSTOMERS)


def test_a_dead_staging_import_is_discarded_by_the_next_import_into_the_workspace(child_env):
    job = _child(child_env, "setup", ORDERS, CUSTOMERS)
    worker = subprocess.Popen([sys.executable, __file__, "run", str(job["id"])], env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD
    while _raw_counts(job["db"], job["id"])[0] == 0:  # until the first slices are committed
        assert worker.poll() is None, worker.stderr.read()
        assert time.monotonic() < deadline, "the import wrote nothing"
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=60)
    assert _raw_counts(job["db"], job["id"])[0] > 0
    report = _child(child_env, "second", job["id"])  # a CLI-style recorded import of the same file
    assert report["orders_created"] == ORDERS and report["customers_created"] == CUSTOMERS, report
    assert (report["orders_in_db"], report["customers_in_db"]) == (ORDERS, CUSTOMERS)
    assert _raw_counts(job["db"], job["id"]) == (0, 0)
    with sqlite3.connect(job["db"]) as raw:
        assert raw.execute("SELECT stage FROM imports_importjob WHERE id = ?", [job["id"]]).fetchone()[0] == \
            "discarded"


def _child_second(job_id: str) -> None:
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Customer
    from guanxi.imports.models import ImportJob
    from guanxi.imports.undo import orders_import_recorded
    from guanxi.workspaces import tenancy

    job = ImportJob.all_workspaces.select_related("workspace", "store").get(pk=int(job_id))
    with tenancy.active(job.workspace):
        _job, result = orders_import_recorded(workspace=job.workspace, store=job.store, path=job.path, fmt="generic")
        print(json.dumps({"orders_created": result.orders_created, "customers_created": result.customers_created,
                          "orders_in_db": Order.objects.count(), "customers_in_db": Customer.objects.count()}))


# -- in this process: what readers see between slices -----------------------------------------------------------
def _sqlite_only():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("staging is SQLite's; PostgreSQL hides the single transaction by MVCC")


def _recorded(workspace, store, path, progress, **options):
    """orders_import_recorded with a progress callback (what readers see between slices)."""
    from guanxi.imports.undo import orders_import_recorded

    return orders_import_recorded(workspace=workspace, store=store, path=path, fmt="generic", progress=progress,
                                  **options)


@pytest.fixture
def shop(transactional_db):
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create, workspace_create

    workspace = workspace_create(slug="staged", name="Staged", time_zone="Asia/Shanghai")
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE, currency="CNY")
        yield workspace, store


def test_while_staging_orders_and_customers_are_invisible_to_every_reader(shop, tmp_path):
    _sqlite_only()
    from guanxi.commerce.models import Order
    from guanxi.commerce.selectors import order_stats
    from guanxi.customers.models import Customer
    from guanxi.customers.selectors import customer_list
    from guanxi.imports.models import ImportJob
    from guanxi.insight.tables import customer_ids, paid_order_frame
    from guanxi.segments.facts import facts_rebuild
    from guanxi.segments.models import CustomerFacts

    workspace, store = shop
    path = _export(tmp_path / "orders.csv", 25_000, 9_000)
    seen = []

    def search(q: str) -> list[int]:  # the customer search of the list page and the API
        return list(customer_list(q=q).values_list("id", flat=True))

    def look(rows: int) -> None:
        job = ImportJob.objects.get()
        seen.append({
            "stage": job.stage, "staged": Order.all_workspaces.filter(import_job_id=job.pk).count(),
            "orders": Order.objects.count(), "customers": Customer.objects.count(),
            "search": [*search("buyer1@example.com"), *search("K-1"), *search("138")],
            "stats": [order_stats()[key] for key in ("orders", "customers", "paid_orders")],
            "insight": [len(paid_order_frame()), len(customer_ids())],
        })
        if seen[-1]["staged"] and not any("facts" in look for look in seen):
            facts_rebuild()  # a rebuild of the segment facts now finds no customer of the import either
            seen[-1]["facts"] = CustomerFacts.objects.count()

    _job, result = _recorded(workspace, store, path, look)
    assert result.orders_created == 25_000
    middle = next(look for look in seen if look["staged"])  # slices of the import are in the database
    assert middle["stage"] == "staging" and middle["staged"] < 25_000
    assert {key: middle[key] for key in ("orders", "customers", "search", "stats", "insight", "facts")} == {
        "orders": 0, "customers": 0, "search": [], "stats": [0, 0, 0], "insight": [0, 0], "facts": 0}
    # Published: all of it at once.
    assert ImportJob.objects.get().stage == "published"
    assert (Order.objects.count(), Customer.objects.count()) == (25_000, 9_000)
    assert len(search("buyer1@example.com")) == 1 and len(search("K-1")) == 1
    facts_rebuild()
    assert CustomerFacts.objects.count() == 9_000


def test_facts_rebuilt_during_staging_take_the_import_in_once_it_is_published(shop, tmp_path):
    _sqlite_only()
    from guanxi.segments.facts import facts_rebuild
    from guanxi.segments.models import CustomerFacts, CustomerPurchase

    workspace, store = shop
    path = _export(tmp_path / "orders.csv", 12_000, 3_000)
    rebuilt = []

    def rebuild(rows: int) -> None:
        if not rebuilt:
            rebuilt.append(facts_rebuild())
            assert CustomerFacts.objects.count() == 0

    _recorded(workspace, store, path, rebuild)
    assert rebuilt
    facts_rebuild()  # incremental: reaches back to the staged import's start, so its purchases are read
    assert CustomerFacts.objects.count() == 3_000
    assert CustomerPurchase.objects.count() == 0  # a generic export has no lines; the figures come from orders
    assert sum(CustomerFacts.objects.values_list("orders_count", flat=True)) == 12_000


def test_a_reimport_with_changed_statuses_applies_its_updates_at_the_publish_only(shop, tmp_path):
    _sqlite_only()
    from guanxi.activities.models import Interaction
    from guanxi.commerce.models import Order

    workspace, store = shop
    _recorded(workspace, store, _export(tmp_path / "first.csv", 6_000, 2_000), None)
    changed = lambda i: "refunded" if i % 3 == 0 else "paid"  # noqa: E731
    second = _export(tmp_path / "second.csv", 6_000, 2_000, status=changed)
    seen = []

    def look(rows: int) -> None:
        seen.append((Order.objects.filter(status="refunded").count(), Interaction.objects.count()))

    _job, result = _recorded(workspace, store, second, look)
    assert (result.orders_updated, result.orders_unchanged, result.orders_created) == (2_000, 4_000, 0)
    assert len(seen) >= 2 and set(seen) == {(0, 0)}  # chunk after chunk, nothing of the updates shows
    assert Order.objects.filter(status="refunded").count() == 2_000
    assert Interaction.objects.count() == 2_000  # one timeline note per updated order


def test_a_failed_staged_import_leaves_no_rows_and_no_job(shop, tmp_path):
    _sqlite_only()
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Customer
    from guanxi.imports.models import ImportJob
    from guanxi.imports.services import ImportFailed

    workspace, store = shop
    path = _export(tmp_path / "orders.csv", 15_000, 5_000)
    with open(path, "a", encoding="utf-8") as out:
        out.write("K-bad,not a date,1.00,paid,Bad,bad@example.com,\n")
    with pytest.raises(ImportFailed):
        _recorded(workspace, store, path, None)
    assert (Order.all_workspaces.count(), Customer.all_workspaces.count(), ImportJob.all_workspaces.count()) == \
        (0, 0, 0)


def test_a_second_import_while_one_is_staging_is_refused(shop, tmp_path):
    _sqlite_only()
    from guanxi.imports.services import ImportBusy

    workspace, store = shop
    path = _export(tmp_path / "orders.csv", 12_000, 3_000)
    refused = []

    def second(rows: int) -> None:
        if not refused:
            with pytest.raises(ImportBusy):
                _recorded(workspace, store, _export(tmp_path / "other.csv", 10, 10, start=50_000), None)
            refused.append(True)

    _job, result = _recorded(workspace, store, path, second)
    assert refused and result.orders_created == 12_000


# -- PostgreSQL: the commit that makes an import visible is durable ----------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_publishing_commit_runs_with_synchronous_commit_on(tmp_path):
    from django.db import connection

    from guanxi.imports.services import orders_import
    from guanxi.imports.undo import orders_import_recorded
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create, workspace_create

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")

    def show() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    workspace = workspace_create(slug="durable", name="Durable", time_zone="Asia/Shanghai")
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE, currency="CNY")
        loading, publishing = [], []
        _job, result = orders_import_recorded(
            workspace=workspace, store=store, path=_export(tmp_path / "a.csv", 5_000, 1_000), fmt="generic",
            progress=lambda rows: loading.append(show()))
        assert result.orders_created == 5_000
        result = orders_import(workspace=workspace, store=store, path=_export(tmp_path / "b.csv", 3_000, 1_000,
                                                                                start=10_000),
                               fmt="generic", progress=lambda rows: loading.append(show()),
                               on_publish=lambda result: publishing.append(show()))
        assert result.orders_created == 3_000
        assert loading and set(loading) == {"off"}  # loading may lose its last chunks in a crash: it is redone
        assert publishing == ["on"]
        assert show() == "on"  # and nothing of the import's settings outlives it


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from guanxi.cli import _prepare_database, _setup_django

    _setup_django()
    _prepare_database()
    command, *arguments = sys.argv[1:]
    {"setup": _child_setup, "run": _child_run, "status": _child_report, "retry": _child_retry,
     "second": _child_second}[command](*arguments)
