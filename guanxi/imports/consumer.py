"""The Huey job consumer inside another process, and the heartbeat that says whether any consumer is alive.

`guanxi serve` and `guanxi demo` (and `guanxi serve --production`, beside gunicorn) call `start_consumer_thread()`
so uploads and refreshes run without a second command; `guanxi worker` runs `run_consumer()` in the foreground for
deployments with several web processes (`--no-worker` on those). Huey's own thread workers do the work; the
queue is settings.HUEY: SQLite in GUANXI_HOME by default, Redis when GUANXI_REDIS_URL is set.

Liveness goes through the queue's own key-value store (`HUEY.put`/`HUEY.get`), not the main database: every
process that can queue a job can read it (one SQLite file, or Redis across machines), and writing it never waits
for the write lock an import holds on the main database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time

from huey.consumer import Consumer

logger = logging.getLogger("guanxi.jobs")

HEARTBEAT_KEY = "guanxi.consumer.heartbeat"
BEAT_SECONDS = 5.0  # how often a consumer says it is alive
ALIVE_SECONDS = 20.0  # a consumer silent for longer counts as gone (several missed beats)
SHUTDOWN_SECONDS = 10.0  # how long stopping waits for a running job before leaving it to the heartbeat check


def _huey():
    from huey.contrib.djhuey import HUEY

    return HUEY


def consumer_beat() -> None:
    """Record that a consumer is alive now (epoch seconds, with its host and pid for people reading the store)."""
    _huey().put(HEARTBEAT_KEY, {"at": time.time(), "host": socket.gethostname(), "pid": os.getpid()})


def consumer_last_seen() -> float | None:
    """When any consumer last said it was alive (epoch seconds), None if never or unreadable."""
    try:
        beat = _huey().get(HEARTBEAT_KEY, peek=True)
    except Exception:  # noqa: BLE001 - a queue that does not answer has no consumer either
        logger.warning("cannot read the job consumer's heartbeat", exc_info=True)
        return None
    return beat.get("at") if isinstance(beat, dict) else None


def consumer_alive() -> bool:
    """Whether some consumer said it was alive in the last ALIVE_SECONDS (any process, any machine)."""
    if _huey().immediate:
        return True  # tasks run where they are queued
    seen = consumer_last_seen()
    return seen is not None and time.time() - seen < ALIVE_SECONDS


class _GuestConsumer(Consumer):
    """Huey's consumer as a guest in someone else's process: the host (runserver, gunicorn's master, the
    `guanxi worker` loop) owns the signals, and signal handlers can only be set from the main thread anyway."""

    def _set_signal_handlers(self) -> None:
        pass


class ConsumerHandle:
    """A consumer started by `start_consumer_thread`; `stop()` ends it (waits up to SHUTDOWN_SECONDS for a job
    that is running; one that outlives that ends with the process and is later marked interrupted)."""

    def __init__(self, consumer: _GuestConsumer):
        self.consumer = consumer
        self._stopped = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="huey-keeper", daemon=True)

    def _keep(self) -> None:
        # Beat, and restart a worker thread that died (Huey's consumer does this in its own `run` loop).
        while True:
            try:
                consumer_beat()
                self.consumer.check_worker_health()
            except Exception:  # noqa: BLE001 - a queue down for a moment must not end the consumer
                logger.warning("job consumer heartbeat failed", exc_info=True)
            if self._stopped.wait(BEAT_SECONDS):
                return

    def start(self) -> "ConsumerHandle":
        self.consumer.start()
        self._keeper.start()
        return self

    @property
    def alive(self) -> bool:
        return not self._stopped.is_set() and any(t.is_alive() for _, t in self.consumer.worker_threads)

    def stop(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Stop taking jobs and wait up to `timeout` seconds for the one running."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._keeper.join()
        self.consumer.shutdown_timeout = timeout
        self.consumer.stop(graceful=True)
        self.consumer.huey.notify_interrupted_tasks()
        logger.info("job consumer stopped")


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


def _consumer(workers: int) -> _GuestConsumer:
    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")  # every app's tasks.py, as `run_huey` does
    # Runs in each worker thread as it ends: its database connections would otherwise stay open until the process
    # exits (PostgreSQL keeps them CONN_MAX_AGE), holding a server slot after the consumer stopped.
    _huey().on_shutdown("guanxi-close-connections")(_close_connections)
    options = dict(settings.HUEY.get("consumer", {})) if isinstance(settings.HUEY, dict) else {}
    options.update(workers=workers, worker_type="thread", shutdown_timeout=SHUTDOWN_SECONDS)
    return _GuestConsumer(_huey(), **options)


def start_consumer_thread(*, workers: int = 1) -> ConsumerHandle:
    """Start Huey's threaded consumer (`workers` worker threads, the periodic scheduler and a heartbeat) in this
    process and return at once; call `.stop()` on the handle before the process exits (atexit is too late for
    the threads to finish cleanly)."""
    handle = ConsumerHandle(_consumer(workers)).start()
    logger.info("job consumer started in this process (%s worker thread%s)", workers, "" if workers == 1 else "s")
    return handle


def run_consumer(*, workers: int = 1) -> None:
    """`guanxi worker`: the consumer in the foreground until Ctrl-C or SIGTERM."""
    import signal

    handle = start_consumer_thread(workers=workers)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        handle.stop()


@contextlib.contextmanager
def serving_jobs(*, enabled: bool = True):
    """Run the consumer beside whatever the block serves (unless not `enabled`), and stop it when the block ends —
    on Ctrl-C, and on SIGTERM too (turned into SystemExit, so the block unwinds and the process exits 0 instead of
    vanishing mid-job)."""
    import signal
    import sys

    handle = start_consumer_thread() if enabled else None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        yield handle
    finally:
        if handle is not None:
            handle.stop()
        signal.signal(signal.SIGTERM, previous)
