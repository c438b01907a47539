"""Readers that turn transaction files into transaction frames (see `guanxi.analytics.frames`).

Each reader takes a path and returns a frame with ``customer_id``, ``date`` (pl.Date), ``amount`` and whatever
else the file holds. `READERS` maps the ``--format`` names of ``guanxi analytics fit`` to readers; a new format
(taobao, shopify, generic CSV) plugs in with `register_reader` — the Django import code can supply one that
reuses its own parsers, as long as it returns the same columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import polars as pl

from guanxi.analytics.errors import FileFormatError

Reader = Callable[[Path], pl.DataFrame]
READERS: dict[str, Reader] = {}


def register_reader(name: str, reader: Reader) -> None:
    """Make ``reader`` available to `read_transactions` and `fit_file` as format ``name``."""
    READERS[name] = reader


def read_transactions(path: str | Path, fmt: str) -> pl.DataFrame:
    """Read ``path`` in format ``fmt`` (a key of `READERS`); raises `FileFormatError` for an unknown format."""
    try:
        reader = READERS[fmt]
    except KeyError:
        known = ", ".join(sorted(READERS)) or "none"
        raise FileFormatError(f"no reader for format {fmt!r}; known formats: {known}") from None
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"no such file: {path}")
    return reader(path)


def _whitespace_table(path: Path, pattern: str, columns: list[str], *, skip_header: bool) -> pl.DataFrame:
    lines = pl.read_csv(
        path,
        has_header=False,
        separator="\x1f",  # never present: one column holding the whole line
        new_columns=["line"],
        quote_char=None,
        schema_overrides={"line": pl.String},
    ).with_row_index("line_number", offset=1)
    if skip_header and lines.height and not lines["line"][0].strip()[:1].isdigit():
        lines = lines.slice(1)
    lines = lines.filter(pl.col("line").str.strip_chars() != "")
    parsed = lines.with_columns(pl.col("line").str.extract_groups(pattern).alias("g")).unnest("g")
    bad = parsed.filter(pl.col("1").is_null())
    if bad.height:
        first = bad.row(0, named=True)
        raise FileFormatError(
            f"{path.name} line {first['line_number']}: cannot read {first['line'].strip()!r} "
            f"(expected {' '.join(columns)}); {bad.height} bad line(s) in all"
        )
    return parsed.rename({str(i + 1): name for i, name in enumerate(columns)}).drop("line")


def read_cdnow(path: Path) -> pl.DataFrame:
    """CDNOW_master.txt: ``customer_id date(YYYYMMDD) number_of_cds dollar_value``, whitespace separated,
    with or without a header line. Returns ``customer_id`` (int), ``date``, ``quantity``, ``amount`` (dollars)."""
    table = _whitespace_table(
        path,
        r"^\s*(\d+)\s+(\d{8})\s+(\d+)\s+(\d+(?:\.\d*)?)\s*$",
        ["customer_id", "date", "quantity", "amount"],
        skip_header=True,
    )
    return _typed(table, path)


def read_cdnow_sample(path: Path) -> pl.DataFrame:
    """CDNOW_sample.txt: ``master_id sample_id date cds dollars``. The customer is the master id (so results
    join to the master file); returns the same columns as `read_cdnow`."""
    table = _whitespace_table(
        path,
        r"^\s*(\d+)\s+(\d+)\s+(\d{8})\s+(\d+)\s+(\d+(?:\.\d*)?)\s*$",
        ["customer_id", "sample_id", "date", "quantity", "amount"],
        skip_header=True,
    )
    return _typed(table.drop("sample_id"), path)


def _typed(table: pl.DataFrame, path: Path) -> pl.DataFrame:
    typed = table.select(
        pl.col("line_number"),
        pl.col("customer_id").cast(pl.Int64),
        pl.col("date").str.to_date("%Y%m%d", strict=False),
        pl.col("quantity").cast(pl.Int64),
        pl.col("amount").cast(pl.Float64),
    )
    bad = typed.filter(pl.col("date").is_null())
    if bad.height:
        raise FileFormatError(f"{path.name} line {bad['line_number'][0]}: not a valid YYYYMMDD date")
    return typed.drop("line_number")


register_reader("cdnow", read_cdnow)
register_reader("cdnow-sample", read_cdnow_sample)
