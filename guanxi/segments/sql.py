"""`INSERT INTO … SELECT` from an ORM queryset: set-based writes of any number of rows in one statement.

The SELECT comes from the ORM (tenancy, joins and rule compilation stay there); only the INSERT wrapper is
written here, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib

from django.db import connection, transaction


def insert_select(model, columns: tuple[str, ...], queryset, constants: dict) -> int:
    """Insert one `model` row per row of `queryset`, whose selected values fill `columns` (model field names, in
    the queryset's select order), with `constants` (field name → value) the same in every row. Returns the count.
    """
    sql, params = queryset.query.sql_with_params()
    return insert_rows(model, columns, sql, params, constants)


def insert_rows(model, columns: tuple[str, ...], sql: str, params, constants: dict) -> int:
    """`insert_select` for a SELECT already in SQL (`sql` with `params`), e.g. one that joins an ORM query."""
    quote = connection.ops.quote_name
    names = [model._meta.get_field(name).column for name in (*columns, *constants)]
    # Constants go through their fields' adaptation, as an ORM insert would (aware datetimes to UTC on SQLite…).
    values = [model._meta.get_field(name).get_db_prep_save(value, connection) for name, value in constants.items()]
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT q.*{''.join(', %s' for _ in constants)} FROM ({sql}) q"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, (*values, *params))
        return cursor.rowcount


@contextlib.contextmanager
def counting():
    """Planner settings for one big read or set-based write (segment counts, refreshes, rebuilds), undone at the
    end: on PostgreSQL no JIT (compiling such a query costs more than it saves: up to a second measured on a
    million customers) and room for hash joins of a million rows in memory. A transaction of its own if needed."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


MATCHES = "segment_matches"


@contextlib.contextmanager
def matches_table(queryset):
    """The primary keys `queryset` selects, in a temporary table of the connection (dropped afterwards); yields
    (table name as SQL, row count). Lets one evaluation of a rule serve several statements."""
    sql, params = queryset.order_by().values_list("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        table, column = f"pg_temp.{MATCHES}", "bigint PRIMARY KEY"
    else:
        table, column = f"temp.{MATCHES}", "INTEGER PRIMARY KEY"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {MATCHES} (id {column})")
        try:
            cursor.execute(f"INSERT INTO {table} (id) {sql}", params)
            size = cursor.rowcount
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {table}")  # else the planner guesses its size
            yield table, size
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
