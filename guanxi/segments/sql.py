"""`INSERT INTO … SELECT` from an ORM queryset: set-based writes of any number of rows in one statement.

The SELECT comes from the ORM (tenancy, joins and rule compilation stay there); only the INSERT wrapper is
written here, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from django.db import connection


def insert_select(model, columns: tuple[str, ...], queryset, constants: dict) -> int:
    """Insert one `model` row per row of `queryset`, whose selected values fill `columns` (model field names, in
    the queryset's select order), with `constants` (field name → value) the same in every row. Returns the count.
    """
    sql, params = queryset.query.sql_with_params()
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
