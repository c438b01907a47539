"""Fast raw inserts for system bulk work (the CDNOW loader, the demo generator, benchmarks).

Rows are plain tuples of str/int/bool/None in the order of the given field names; datetimes are passed as
strings made by `format_ts` (UTC), dates as "YYYY-MM-DD", money as "12.34". On PostgreSQL the rows go through
COPY (psycopg 3); on SQLite through executemany on the raw connection. Callers run inside `transaction.atomic()`
and validate their own data: this bypasses model validation, signals and the fail-closed tenant manager on
purpose (every row carries its workspace id explicitly).
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterable, Iterator, Sequence

from django.db import connection as default_connection
from django.db import models, transaction

COPY_SLICE_ROWS = 100_000  # rows per CSV piece sent to COPY by `BulkWriter.insert_frame`
SQLITE_BULK_CACHE_KIB = 256 * 1024  # SQLite's page cache during a bulk load (a cap: memory stays flat past it)


class BulkWriter:
    def __init__(self, connection=None):
        self.connection = connection or default_connection
        self.connection.ensure_connection()
        self.vendor = self.connection.vendor
        if self.vendor not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"Bulk writes are not implemented for {self.vendor}.")
        self.postgres = self.vendor == "postgresql"
        self._next_id: dict[str, int] = {}
        self._sequences: dict[str, str] = {}
        self._skip_triggers: bool | None = None
        self._durable = False  # `durable_commit` was called in the current `transaction()`
        # PostgreSQL gets an explicit offset; the SQLite backend stores naive UTC text, as Django does.
        self._ts_suffix = "+00" if self.postgres else ""

    # -- values -------------------------------------------------------------------------------------------------
    def format_ts(self, ts: int) -> str:
        """A UTC timestamp (whole seconds since the epoch) as the database's datetime text."""
        t = time.gmtime(ts)
        return "%04d-%02d-%02d %02d:%02d:%02d%s" % (t[0], t[1], t[2], t[3], t[4], t[5], self._ts_suffix)

    # -- ids ----------------------------------------------------------------------------------------------------
    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """`count` fresh primary keys for `model`, for rows that other rows in the same batch point to."""
        if count <= 0:
            return []
        table = model._meta.db_table
        with self.connection.cursor() as cursor:
            if self.postgres:
                sequence = self._sequences.get(table)
                if sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
                    sequence = self._sequences[table] = cursor.fetchone()[0]
                # The ids come back as a range when they are consecutive (no other session took one meanwhile),
                # not as `count` rows: fetching those cost more than taking them.
                cursor.execute("SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL "
                               "ELSE array_agg(id ORDER BY id) END "
                               "FROM (SELECT nextval(%s) AS id FROM generate_series(1, %s)) AS taken",
                               [sequence, count])
                low, high, scattered = cursor.fetchone()
                return list(range(low, high + 1)) if scattered is None else list(scattered)
        # SQLite: read max(id) and sqlite_sequence (which remembers ids of deleted rows, never to be reused) and
        # move sqlite_sequence past the ids taken, under the write lock (atomic() begins IMMEDIATE). Once that
        # commits, AUTOINCREMENT gives no other writer these ids, so a sliced import may reserve ids in one short
        # transaction and insert them in later ones; inside the caller's transaction it rolls back with it.
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            pk = self.connection.ops.quote_name(model._meta.pk.column)
            cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {self.connection.ops.quote_name(table)}")
            highest = cursor.fetchone()[0]
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            start = max(highest, row[0] if row else 0, self._next_id.get(table, 0) - 1) + 1
            self._next_id[table] = start + count
            if row is None:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start + count - 1])
            else:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start + count - 1, table])
            return list(range(start, start + count))

    # -- rows ---------------------------------------------------------------------------------------------------
    def columns(self, model: type[models.Model], fields: Sequence[str]) -> list[str]:
        return [model._meta.get_field(name).column for name in fields]

    def _defaults(self, model: type[models.Model], fields: Sequence[str]) -> tuple[list[str], tuple]:
        """Columns the caller left out and the value each gets: the field's default (evaluated once), or NULL.

        This keeps the bulk loaders working when a column with a default is added to a model later; a new
        NOT NULL column without any default is an error naming it, not a failed COPY.
        """
        given = set(fields)
        columns, values = [], []
        for field in model._meta.concrete_fields:
            if field.name in given or field.attname in given or field.primary_key:
                continue
            if field.db_default is not models.NOT_PROVIDED:
                continue  # the database fills it
            if field.has_default():
                value = field.get_db_prep_save(field.get_default(), connection=self.connection)
            elif field.null:
                value = None
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = self.format_ts(int(time.time()))
            else:
                raise ValueError(f"{model.__name__}.{field.name} has no default; the bulk loader must set it.")
            columns.append(field.column)
            values.append(value)
        return columns, tuple(values)

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple]) -> int:
        """Insert `rows` (tuples in the order of `fields`) into `model`'s table; returns how many were written."""
        quote = self.connection.ops.quote_name
        table = quote(model._meta.db_table)
        extra_columns, extra = self._defaults(model, fields)
        if extra:
            rows = (row + extra for row in rows)
        names = self.columns(model, fields) + extra_columns
        columns = ", ".join(quote(c) for c in names)
        fields = names
        raw = self.connection.connection
        count = 0
        if self.postgres:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    write = copy.write_row
                    for row in rows:
                        write(row)
                        count += 1
            return count
        if not isinstance(rows, (list, tuple)):
            rows = list(rows)
        placeholders = ", ".join("?" * len(fields))
        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)
        return len(rows)

    def insert_frame(self, model: type[models.Model], fields: Sequence[str], frame) -> int:
        """`insert` for a Polars DataFrame whose columns are `fields` in order (values as `insert` takes them).

        On PostgreSQL the frame goes to COPY as CSV written by Polars: no Python object per value, ~10 times
        faster than `write_row` for wide rows. Strings are quoted, so "" stays an empty string and only null
        (unquoted) is NULL.
        """
        return self.prepare_frame(model, fields, frame).run()

    def prepare_frame(self, model: type[models.Model], fields: Sequence[str], frame) -> PreparedInsert:
        """`insert_frame` in two steps: the COPY's text is made now, the statement runs at `run()` (from another
        thread, say, so that the server is never kept waiting for the text while it could be inserting)."""
        import polars as pl

        if len(frame) == 0 or not self.postgres:
            return PreparedInsert(self, model, fields, frame, None, [])
        extra_columns, extra = self._defaults(model, fields)
        frame = frame.with_columns(*(pl.lit(value).alias(f"_default_{i}") for i, value in enumerate(extra)))
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(c) for c in self.columns(model, fields) + extra_columns)
        sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN WITH (FORMAT csv)"
        # In slices: the CSV of a million wide rows is a quarter of a gigabyte at once.
        pieces = [part.write_csv(include_header=False, quote_style="non_numeric", null_value="").encode()
                  for part in frame.iter_slices(COPY_SLICE_ROWS)]
        return PreparedInsert(self, model, fields, frame, sql, pieces)

    def vacuum(self, models_: Sequence[type[models.Model]]) -> bool:
        """`VACUUM (ANALYZE)` the tables of `models_` on PostgreSQL, outside a transaction; returns whether it ran.

        For tables whose rows a job replaces wholesale (a million scores per analytics refresh): the old rows'
        index entries stay until a vacuum, and the next replacement inserted into indexes twice their size —
        2.7 times slower, measured at a million scores with autovacuum off. Autovacuum may come late; this
        does not wait for it. Inside a transaction (tests) or on SQLite it does nothing.
        """
        if not self.postgres or self.connection.in_atomic_block:
            return False
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            for model in models_:
                cursor.execute(f"VACUUM (ANALYZE) {quote(model._meta.db_table)}")
        return True

    def analyze_if_grown(self, added: dict[type[models.Model], int], *,
                         fraction: float = 0.1) -> list[type[models.Model]]:
        """Refresh the query planner's statistics of tables that grew by more than `fraction` in a bulk load;
        returns the models analyzed.

        Both databases plan badly on tables they have no statistics for: on PostgreSQL the CDNOW store's totals
        took 20 s instead of 0.2 s, on SQLite an order-number search 50 ms instead of 1 ms (it walked the
        date index). Autovacuum may come late and SQLite has none. A table that grew only a little keeps its
        statistics: ANALYZE of millions of rows costs seconds.
        """
        quote = self.connection.ops.quote_name
        analyzed = []
        with self.connection.cursor() as cursor:
            for model, rows in added.items():
                table = model._meta.db_table
                if rows and self._rows_at_last_analyze(cursor, table) * fraction < rows:
                    cursor.execute(f"ANALYZE {quote(table)}")
                    analyzed.append(model)
        return analyzed

    def _rows_at_last_analyze(self, cursor, table: str) -> float:
        """The planner's row count of `table` before this load; 0 when it has never been analyzed.

        PostgreSQL: reltuples (-1 before the first ANALYZE), as of the last (auto)vacuum or analyze, which may
        have seen part of this load; the caller's comparison then errs toward analyzing. SQLite: the row count
        sqlite_stat1 keeps per index.
        """
        if self.postgres:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            return max(cursor.fetchone()[0], 0)
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        return max((int(stat.split()[0]) for (stat,) in cursor.fetchall()), default=0)

    @contextlib.contextmanager
    def transaction(self, *, trusted_references: bool = False) -> Iterator[None]:
        """`transaction.atomic()` tuned for bulk loading.

        On PostgreSQL, commits skip waiting for the WAL flush (a crash loses at most the last chunks, which are
        loaded again) unless `durable_commit()` was called inside. With `trusted_references` the per-row
        foreign-key triggers are skipped
        (`session_replication_role = replica`) when the database role may: for rows whose references the caller
        made or looked up itself in the same run those checks cannot fail, and they cost as much as the inserts.
        Unique and check constraints still apply. Both settings end with the block, also inside a caller's
        transaction.
        """
        nested = self.connection.in_atomic_block
        with transaction.atomic(using=self.connection.alias), self.sqlite_cache():
            settings = []
            if self.postgres:
                settings.append("synchronous_commit")
                with self.connection.cursor() as cursor:
                    if trusted_references and self._may_skip_triggers(cursor):
                        settings.append("session_replication_role")
                        cursor.execute("SET LOCAL session_replication_role TO replica")
                    cursor.execute("SET LOCAL synchronous_commit TO off")
            self._durable = False
            yield
            if self._durable:  # stays on, through the caller's transaction's COMMIT too
                settings.remove("synchronous_commit")
                self._durable = False
            if nested and settings:  # SET LOCAL would otherwise last until the caller's transaction ends
                with self.connection.cursor() as cursor:
                    for name in settings:
                        cursor.execute(f"SET LOCAL {name} TO DEFAULT")

    def durable_commit(self) -> None:
        """Inside `transaction()`: the COMMIT that ends it (or the caller's that it is part of) waits for the WAL
        flush after all. For the commit that makes an import visible: a server crash after "succeeded" must not
        lose it. (SQLite: nothing to do.)"""
        if self.postgres:
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO on")
            self._durable = True

    @contextlib.contextmanager
    def sqlite_cache(self) -> Iterator[None]:
        """On SQLite, a page cache of SQLITE_BULK_CACHE_KIB for the load, then the connection's own again. With
        the default 2 MB every insert into an index larger than that reads its pages back from the file: a
        million-order Taobao import took 112 s with it, 88 s with 64 MB and 77 s with 256 MB (2026-12-01)."""
        if self.postgres:
            yield
            return
        with self.connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            before = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        try:
            yield
        finally:
            with self.connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(before)}")

    def _may_skip_triggers(self, cursor) -> bool:
        if self._skip_triggers is None:
            granted = (" OR has_parameter_privilege('session_replication_role', 'SET')"
                       if self.connection.pg_version >= 150000 else "")  # GRANT SET ON PARAMETER came in 15
            cursor.execute(f"SELECT rolsuper{granted} FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
            self._skip_triggers = bool(row and row[0])
        return self._skip_triggers


class PreparedInsert:
    """Rows of one table ready to go: the COPY statement and its CSV text on PostgreSQL; the frame itself on
    SQLite, inserted at `run()` as `insert` does."""

    def __init__(self, writer: BulkWriter, model, fields, frame, sql: str | None, pieces: list[bytes]):
        self._writer, self._model, self._fields, self._frame = writer, model, fields, frame
        self._sql, self._pieces = sql, pieces

    def split(self, rows: int) -> list[PreparedInsert]:
        """This insert as inserts of at most `rows` rows each, in order (SQLite's; a COPY stays whole)."""
        if self._sql is not None or len(self._frame) <= rows:
            return [self]
        return [PreparedInsert(self._writer, self._model, self._fields, part, None, [])
                for part in self._frame.iter_slices(rows)]

    def run(self) -> int:
        """Insert the rows; returns how many."""
        if len(self._frame) == 0:
            return 0
        if self._sql is None:
            return self._writer.insert(self._model, self._fields, self._frame.iter_rows())
        with self._writer.connection.connection.cursor() as cursor, cursor.copy(self._sql) as copy:
            for piece in self._pieces:
                copy.write(piece)
        return len(self._frame)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(enabled: bool, *, total: int, desc: str):
    """A tqdm bar counting orders, or a stand-in that does nothing."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=" orders", unit_scale=True)
