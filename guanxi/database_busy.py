"""A database too busy to write: recognising it, answering 503, and writes that may simply be skipped.

On SQLite one connection writes at a time; while an import holds the lock, another writer waits
`PRAGMA busy_timeout` (settings.SQLITE_BUSY_TIMEOUT_MS) and then fails with "database is locked". On PostgreSQL
the same happens to a statement that cannot get a row or table lock within `lock_timeout` (SQLSTATE 55P03).
Such a request answers 503 with Retry-After, never 500: nothing was changed, and the same request later works.

Bookkeeping on the read path (an API token's last use, a user's last sign-in) is not worth waiting for: it goes
through `write_if_free`, which gives up after BEST_EFFORT_WAIT_MS and lets the request carry on.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Iterator

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction

logger = logging.getLogger("guanxi.database")

RETRY_AFTER_SECONDS = 5
BEST_EFFORT_WAIT_MS = 100  # milliseconds a skippable write may wait for the lock
_SQLITE_BUSY = ("database is locked", "database table is locked", "database schema is locked")
_PG_LOCK_NOT_AVAILABLE = "55P03"


def is_database_busy(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says another writer holds the lock, i.e. trying later will work."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ or exc
    if getattr(cause, "sqlstate", None) == _PG_LOCK_NOT_AVAILABLE:
        return True
    message = str(exc).lower()
    return any(phrase in message for phrase in _SQLITE_BUSY)


@contextlib.contextmanager
def _short_lock_wait(connection, wait_ms: int) -> Iterator[None]:
    """Inside: at most `wait_ms` milliseconds of waiting for a lock; the connection's own wait comes back after."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            before = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {min(int(wait_ms), before)}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(before)}")
    else:
        yield


def write_if_free(write: Callable[[], object], *, what: str, wait_ms: int = BEST_EFFORT_WAIT_MS,
                  using: str = DEFAULT_DB_ALIAS) -> bool:
    """Run `write` in its own transaction (a savepoint inside one) if the lock comes within `wait_ms` ms.

    Returns False, having changed nothing and logged `what` at INFO, when the database is busy; any other
    error propagates. Only for writes the request can do without.
    """
    connection = connections[using]
    # SET LOCAL would outlive a savepoint and bind the caller's whole transaction: only on a transaction of our own.
    own_transaction = not connection.in_atomic_block
    try:
        with _short_lock_wait(connection, wait_ms), transaction.atomic(using=using):
            if connection.vendor == "postgresql" and own_transaction:
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
            write()
    except OperationalError as exc:
        if not is_database_busy(exc):
            raise
        logger.info("skipped %s: the database is busy", what)
        return False
    return True
