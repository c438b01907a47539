"""Jobs survive a dead worker: a process running an import is killed with SIGKILL mid-file; without its heartbeat
the job becomes interrupted with nothing imported, and a retry imports the whole file with exact counts.

Everything runs in child processes (tests/import_job_child.py) on a database of their own: the SQLite file of a
fresh GUANXI_HOME, or a fresh PostgreSQL database on the server GUANXI_DATABASE_URL names."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parent / "import_job_child.py"
ORDERS, CUSTOMERS = 100_000, 60_000  # ten of the import's 10,000-line batches: it is killed after the first
HANG_GUARD = 900  # seconds; a loaded 2-core machine is slow, a hang is forever


@pytest.fixture
def child_env(tmp_path):
    """Environment for the children: a fresh home, a 2 s heartbeat limit, and their own database."""
    env = {k: v for k, v in os.environ.items() if k not in ("GUANXI_DATABASE_URL", "GUANXI_REDIS_URL")}
    env.update(GUANXI_HOME=str(tmp_path), GUANXI_JOB_STALE_SECONDS="2", PYTHONPATH=str(CHILD.parent.parent))
    url = os.environ.get("GUANXI_DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield env
        return
    import psycopg

    name = f"guanxi_jobs_kill_{uuid.uuid4().hex[:8]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield {**env, "GUANXI_DATABASE_URL": f"{server}/{name}"}
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _child(env, *args) -> dict:
    done = subprocess.run([sys.executable, str(CHILD), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=HANG_GUARD)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _progress(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def test_a_killed_import_becomes_interrupted_with_nothing_imported_and_a_retry_imports_it_all(child_env):
    job = _child(child_env, "setup", ORDERS, CUSTOMERS)
    progress = Path(job["progress"])
    worker = subprocess.Popen([sys.executable, str(CHILD), "run", str(job["id"])], env=child_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD
    while _progress(progress) == 0:
        assert worker.poll() is None, worker.stderr.read()
        assert time.monotonic() < deadline, "the import read nothing"
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=60) == -signal.SIGKILL
    assert 0 < _progress(progress) < ORDERS  # killed mid-file

    report = _child(child_env, "status", job["id"])
    while report["status"] == "running":  # until 2 s pass without a heartbeat
        assert time.monotonic() < deadline, "the job never became interrupted"
        time.sleep(0.5)
        report = _child(child_env, "status", job["id"])
    assert report["status"] == "interrupted"
    assert (report["rows"], report["orders_created"], report["orders_in_db"], report["customers_in_db"]) == (0, 0, 0, 0)

    report = _child(child_env, "retry", job["id"])
    assert report["status"] == "succeeded", report
    assert (report["rows"], report["orders_created"], report["orders_updated"], report["orders_unchanged"]) == \
        (ORDERS, ORDERS, 0, 0)
    assert report["customers_created"] == CUSTOMERS == report["customers_in_db"]
    assert report["orders_in_db"] == ORDERS and report["errors"] == []
