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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's settings")
def test_an_import_commit_waits_for_the_wal_while_its_loading_did_not(tmp_path):
    """Issue 21: synchronous_commit off is fine while loading, not for the COMMIT that makes an import visible:
    the last setting an import makes before committing turns it back on."""
    from guanxi.imports.services import orders_import
    from guanxi.workspaces import tenancy
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create, workspace_create

    workspace = workspace_create(slug="durable")
    path = tmp_path / "orders.csv"
    path.write_text("order_number,created,amount,status,email\n"
                    "D-1,2026-01-02 10:00,12.50,paid,a@example.com\n", encoding="utf-8")
    seen = []

    def record(execute, sql, params, many, context):
        if "synchronous_commit" in sql:
            seen.append(sql)
        return execute(sql, params, many, context)

    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name="Own", platform=Platform.OWN_SITE)
        with connection.execute_wrapper(record):
            result = orders_import(workspace=workspace, store=store, path=path)
    assert result.orders_created == 1
    assert seen[0].endswith("TO off") and seen[-1].endswith("TO on"), seen
