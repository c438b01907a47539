"""`guanxi serve --production`: gunicorn on guanxi.wsgi, static files by WhiteNoise, and the job worker beside it.

This process only supervises: it collects the static files when they changed (into GUANXI_HOME/static, with a
manifest of content-hashed names), then starts gunicorn and `guanxi worker` as child processes and waits. If
gunicorn stops, the worker is stopped and its exit code returned; if the worker dies it is started again.
SIGTERM or Ctrl-C stops both gracefully (gunicorn finishes the requests it is serving).

Children inherit the environment plus GUANXI_HOME (so every process uses the same data folder and secret key) and
GUANXI_STATIC_MANIFEST=1 (settings: hashed static names, WhiteNoise in the middleware).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

WORKER_RESTART_DELAY = 5.0  # seconds between restarts of a job worker that died
POLL_INTERVAL = 1.0  # seconds between looks at the children
STAMP_NAME = ".guanxi-static.sha256"


def default_workers() -> int:
    """gunicorn's advice, 2 × cores + 1, capped at 8: each sync worker is one request at a time."""
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def _static_fingerprint() -> str:
    """A hash of every source static file's path, size and modification time, and of the storage's versions."""
    from importlib.metadata import version

    from django.contrib.staticfiles import finders

    digest = hashlib.sha256(f"{version('django')} {version('whitenoise')}".encode())
    entries = []
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            entries.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    for entry in sorted(entries):
        digest.update(entry.encode() + b"\n")
    return digest.hexdigest()


def collect_static_if_needed(env: dict[str, str]) -> bool:
    """Run collectstatic (in a child with the production storage) unless STATIC_ROOT is current; True if it ran."""
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    stamp = root / STAMP_NAME
    wanted = _static_fingerprint()
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return False
    print(f"guanxi: collecting static files into {root}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "guanxi.cli", "manage", "collectstatic", "--noinput", "--verbosity", "0"],
                   env=env, check=True)
    stamp.write_text(wanted + "\n")
    return True


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _stop(process: subprocess.Popen | None, *, grace: float = 30.0) -> None:
    """SIGTERM (graceful for both gunicorn and Huey), then SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def serve_production(*, host: str, port: int, workers: int, job_worker: bool) -> int:
    """Serve until gunicorn stops or this process is told to stop; returns gunicorn's exit code."""
    from django.conf import settings
    from django.core.management import call_command

    env = {**os.environ, "GUANXI_HOME": str(settings.GUANXI_HOME), "GUANXI_STATIC_MANIFEST": "1"}
    # Said once at start, not enforced: a first trial on http://127.0.0.1 is legitimate.
    call_command("check", "--deploy", "--fail-level", "CRITICAL")
    collect_static_if_needed(env)

    gunicorn_cmd = [
        sys.executable, "-m", "gunicorn", "guanxi.wsgi:application",
        "--bind", _bind(host, port), "--workers", str(workers),
        "--timeout", "120", "--graceful-timeout", "30",
        "--access-logfile", "-", "--error-logfile", "-",
        # Its default socket is one per user (~/.gunicorn): a second server would take it from the first.
        "--no-control-socket",
    ]
    worker_cmd = [sys.executable, "-m", "guanxi.cli", "worker"]
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = subprocess.Popen(gunicorn_cmd, env=env)
    worker = subprocess.Popen(worker_cmd, env=env) if job_worker else None
    print(f"guanxi: serving http://{_bind(host, port)} with gunicorn ({workers} workers); "
          f"job worker {'on' if job_worker else 'off (--no-worker)'}", file=sys.stderr, flush=True)
    worker_died_at = 0.0
    try:
        while not stopping and server.poll() is None:
            if worker is not None and worker.poll() is not None:
                now = time.monotonic()
                if now - worker_died_at >= WORKER_RESTART_DELAY:
                    print(f"guanxi: the job worker exited ({worker.returncode}); starting it again",
                          file=sys.stderr, flush=True)
                    worker_died_at = now
                    worker = subprocess.Popen(worker_cmd, env=env)
            time.sleep(POLL_INTERVAL)
    finally:
        _stop(worker)
        _stop(server)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stopping else server.returncode
