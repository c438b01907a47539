"""A process that works on import jobs for tests/test_import_interrupted.py, so that a test can kill it with
SIGKILL mid-import. Its database is its GUANXI_HOME's SQLite file, or GUANXI_DATABASE_URL.

    python tests/import_job_child.py setup ORDERS CUSTOMERS   generate a generic export, upload it as a queued job
    python tests/import_job_child.py run JOB_ID               run the job (what a worker does); the test kills this
    python tests/import_job_child.py status JOB_ID            print the job as the API shows it, and the order count
    python tests/import_job_child.py retry JOB_ID             retry it, let a real in-process consumer run it, print
"""

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _django() -> None:
    from guanxi.cli import _prepare_database, _setup_django

    _setup_django()
    _prepare_database()


def _job(job_id: str):
    from guanxi.imports.models import ImportJob

    return ImportJob.all_workspaces.select_related("workspace").get(pk=int(job_id))


def setup(orders: str, customers: str) -> None:
    from django.core.files import File
    from django.db import transaction

    from guanxi.imports.jobs import import_job_create, import_job_start
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create, workspace_create

    export = Path(os.environ["GUANXI_HOME"]) / "big-export.csv"
    with open(export, "w", encoding="utf-8") as out:
        out.write("order_number,created,amount,status,customer_name,email\n")
        for i in range(int(orders)):
            buyer = i % int(customers)
            out.write(f"K-{i},2026-0{1 + i % 9}-{1 + i % 28:02d} 10:{i % 60:02d}:00,{10 + i % 90}.50,paid,"
                      f"Buyer {buyer},buyer{buyer}@example.com\n")
    workspace = workspace_create(slug="big", name="Big shop", time_zone="Asia/Shanghai")
    with tenancy.active(workspace), open(export, "rb") as handle:
        store = store_create(workspace=workspace, name="Own site", platform=Platform.OWN_SITE, currency="CNY")
        with transaction.atomic():
            job = import_job_create(store=store, upload=File(handle, name=export.name), fmt="generic")
            import_job_start(job=job)
    print(json.dumps({"id": job.pk, "progress": str(Path(job.path).parent / "progress")}))


def run(job_id: str) -> None:
    from guanxi.imports.jobs import import_job_run

    import_job_run(job_id=int(job_id))


def _report(job) -> None:
    from guanxi.commerce.models import Order
    from guanxi.customers.models import Customer
    from guanxi.imports.jobs import import_job_check, import_job_summary
    from guanxi.workspaces import tenancy

    with tenancy.active(job.workspace):
        summary = import_job_summary(import_job_check(job))
        print(json.dumps({**summary, "orders_in_db": Order.objects.count(),
                          "customers_in_db": Customer.objects.count()}))


def status(job_id: str) -> None:
    _report(_job(job_id))


def retry(job_id: str) -> None:
    from django.db import transaction

    from guanxi.imports.consumer import start_consumer_thread
    from guanxi.imports.jobs import import_job_check, import_job_retry
    from guanxi.workspaces import tenancy

    job = _job(job_id)
    with tenancy.active(job.workspace), transaction.atomic():
        import_job_retry(job=import_job_check(job))
    handle = start_consumer_thread()
    try:
        while _job(job_id).status in ("queued", "running"):
            time.sleep(0.2)
    finally:
        handle.stop(timeout=600)
    _report(_job(job_id))


if __name__ == "__main__":
    _django()
    command, *arguments = sys.argv[1:]
    {"setup": setup, "run": run, "status": status, "retry": retry}[command](*arguments)
