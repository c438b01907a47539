"""BulkWriter.transaction's settings for a load, and that they end with it."""

import pytest
from django.db import connection

from guanxi.demo import bulk
from guanxi.demo.bulk import BulkWriter

pytestmark = pytest.mark.django_db


def _cache_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's page cache")
def test_a_load_on_sqlite_gets_a_large_page_cache_and_the_connection_its_own_back_after():
    before = _cache_size()
    with BulkWriter().transaction():
        assert _cache_size() == -bulk.SQLITE_BULK_CACHE_KIB != before
    assert _cache_size() == before
    with pytest.raises(ZeroDivisionError), BulkWriter().transaction():
        1 / 0
    assert _cache_size() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
def test_a_load_on_postgresql_skips_waiting_for_the_wal_and_ends_it_with_the_block():
    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    before = synchronous_commit()
    with BulkWriter().transaction():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == before
